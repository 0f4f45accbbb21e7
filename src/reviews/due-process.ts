import type { DigitalId } from "../identity/digital-id.js";
import type { PlayerNotice, Sanction } from "../sanctions/model.js";
import type { BusStore, ReviewStore, StatsStore } from "../stores/store.js";
import { AppealService } from "./appeals.js";
import { CaseService } from "./cases.js";
import type { ResolvedDueProcess } from "./options.js";
import { Transparency } from "./transparency.js";

/** The due-process services, built the same way by the warden and by the CLI's direct mode. */
export interface DueProcess {
  appeals: AppealService;
  cases: CaseService;
  transparency: Transparency;
  /** Tells a player (their live sessions in every process) about their appeal or report; best effort. */
  notify(did: DigitalId, notice: PlayerNotice): void;
}

/** Builds the due-process services over a store. */
export function createDueProcess(
  store: ReviewStore & StatsStore & BusStore,
  options: ResolvedDueProcess,
  hooks: { storeFailed(operation: string, cause: unknown): void; findSanction(id: string): Promise<Sanction | null> },
  now: () => number = Date.now,
): DueProcess {
  const transparency = new Transparency(store, options.statsRetentionMs, hooks.storeFailed, now);
  const notify = (did: DigitalId, notice: PlayerNotice): void => {
    store.publishNotice(did, notice).catch((e: unknown) => hooks.storeFailed("publishNotice", e));
  };
  const appeals = new AppealService(store, { findSanction: hooks.findSanction, notify }, transparency, options, now);
  const cases = new CaseService(store, { notify, storeFailed: hooks.storeFailed }, transparency, options, now);
  return { appeals, cases, transparency, notify };
}
