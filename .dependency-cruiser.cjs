/**
 * The shape of src/, checked by `npm run lint` (CI runs it): folders depend one way.
 *
 *   util, errors, duration              plain helpers
 *   identity, policy                    digital IDs, profiles; the ladder and its calculator
 *   guard                               the hot path (frames, types, flood, chat)
 *   recorder, sanctions                 offense events and their writer; sanctions, enforcer
 *   stores                              the store contract and its Redis / memory implementations
 *   reviews                             due process: appeals, report cases, forgiveness, transparency (its model.ts is plain data the stores keep)
 *   signals                             ban evasion beside reviews: keyed signals, alt links, evasion records (its model.ts is plain data the stores keep)
 *   reports, sessions                   player reports; join gate and process registry
 *   metrics                             Prometheus registry reading the parts' counters
 *   admin, plugin, warden, index        the faces: moderators' service, the room plugin, the wiring
 *
 * @type {import("dependency-cruiser").IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import loops, type-only ones included: each module can be read, tested and changed from the bottom up.",
      from: { path: "^src" },
      to: { circular: true },
    },
    {
      name: "lower-layers-never-import-upper",
      severity: "error",
      comment: "util, errors, identity, guard, policy, recorder, sanctions, stores, reviews, signals, reports, sessions and metrics never import the faces (warden, plugin, admin).",
      from: { path: "^src/(util|errors|duration|identity|guard|policy|recorder|sanctions|stores|reviews|signals|reports|sessions|metrics)" },
      to: { path: "^src/(warden|plugin|admin|index)" },
    },
    {
      name: "stores-see-only-the-model",
      severity: "error",
      comment: "A store knows the records it keeps (sanction model and codec, offense events, the ladder's pure calculator), never the services that use it.",
      from: { path: "^src/stores" },
      to: { path: "^src/(guard|reports|sessions|recorder/recorder|sanctions/(service|enforcer|standing|options)|reviews/(?!model)|signals/(?!model))" },
    },
    {
      name: "store-implementations-only-in-the-wiring",
      severity: "error",
      comment: "Services take a store role (src/stores/store.ts); only the wiring, the CLI's direct mode and the public index name an implementation.",
      from: { path: "^src", pathNot: "^src/(stores|warden\\.ts|admin/cli\\.ts|index\\.ts)" },
      to: { path: "^src/stores/(memory|redis)/" },
    },
    {
      name: "guard-stays-on-the-hot-path",
      severity: "error",
      comment: "The guard decides from memory: it never reaches a store, a service or the recorder's writer.",
      from: { path: "^src/guard" },
      to: { path: "^src/(stores|sanctions|reports|reviews|signals|sessions|recorder/recorder|policy)" },
    },
    {
      name: "reviews-below-reports",
      severity: "error",
      comment: "Due process knows records, sanctions and stores; reports feed it, the guard and the sessions never reach it nor it them.",
      from: { path: "^src/reviews" },
      to: { path: "^src/(reports|sessions|guard|recorder/recorder)" },
    },
    {
      name: "signals-beside-reviews",
      severity: "error",
      comment: "Ban evasion knows records, sanctions and stores like due process does; the hot path, reports and sessions never reach it nor it them (the wiring hands it the join's raw values).",
      from: { path: "^src/signals" },
      to: { path: "^src/(reports|sessions|guard|recorder/recorder|policy)" },
    },
    {
      name: "util-is-plain",
      severity: "error",
      comment: "Helpers depend on nothing of the product but errors and durations.",
      from: { path: "^src/util" },
      to: { path: "^src/(?!util|errors|duration)" },
    },
    {
      name: "src-never-imports-tests-or-demo",
      severity: "error",
      from: { path: "^src" },
      to: { path: "^(test|bench|rooms|scripts)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js"] },
  },
};
