import type { DigitalId } from "./digital-id.js";
import { Ledger } from "../util/ledger.js";

/** What this process knows of an ID's profile while it has sessions here. */
export interface LocalProfile {
  /** When the store first saw the ID (epoch ms); unknown until the join's profile write returns. */
  firstSeen: number | undefined;
}

/** The profiles of the IDs with sessions in this process (gone with their last session). */
export class Profiles extends Ledger<DigitalId, LocalProfile> {
  constructor() {
    super(
      () => ({ firstSeen: undefined }),
      () => 0,
    );
  }
}
