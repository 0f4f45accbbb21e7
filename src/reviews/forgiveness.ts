import type { Policy } from "../policy/ladder.js";
import type { Sanction } from "../sanctions/model.js";
import type { OffenseStore } from "../stores/store.js";

/**
 * Forgiveness: an upheld appeal, or a revoke marked wrongful, takes back what the sanction's
 * ladder step added. The track's points go down to the threshold of the step below the
 * forgiven one (0 when it was the first) and the mark of the step last issued goes back to
 * that step — so the next offense on the track counts from there, and at worst brings the
 * forgiven step again, never the one after it. Points already lower stay as they are. When
 * a later step was issued since (the player went on to a kick after the forgiven mute),
 * nothing is taken back: the later step stands on its own points, and its own appeal is
 * where it is forgiven.
 *
 * Only a policy sanction (its statement names its track and step) moves the ladder; a
 * sanction a person issued has no points to take back. Answers whether anything was
 * forgiven.
 */
export async function forgive(store: OffenseStore, policy: Policy, sanction: Sanction, now: number): Promise<boolean> {
  const ladder = sanction.statement?.ladder;
  if (ladder === undefined) return false;
  const track = policy.tracks.get(ladder.track);
  const step = track?.ladder[ladder.step];
  if (track === undefined || step === undefined || step.kind !== sanction.kind) return false;
  const below = ladder.step > 0 ? track.ladder[ladder.step - 1] : undefined;
  await store.forgive(sanction.did, track.name, below?.at ?? 0, below?.at ?? null, now, track.halfLifeMs, step.at);
  return true;
}
