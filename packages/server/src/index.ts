/**
 * @module @kai/server
 * The kAI service stack server. `startServer()` is the whole thing; the rest is exported for tests,
 * benchmarks and embedding.
 */
export { startServer, type StartServerOptions, type RunningServer } from "./server.js";
export { loadConfig, ConfigError, type ConfigSources } from "./config/load-config.js";
export { ConfigSchema, type Config, type ConfigInput } from "./config/config-schema.js";
export { VERSION } from "./version.js";
export { VAULT_KEY_FILE } from "./vault/key-files.js";
export { copyStorage, postgresTarget, maskUrl, scrubPassword, type CopyReport, type CopyStorageOptions } from "./storage/copy/index.js";
export { restoreBackup, verifyBackup, readBackupHeader, openOffsiteStore, type RestoreOptions, type RestoreReport } from "./backup/index.js";
export { openBlobBackend } from "./artifacts/open-artifacts.js";
export { signPluginFolder, verifyPluginFolder } from "./plugins/plugin-signature.js";
export { readPluginManifest } from "./plugins/plugin-manifest.js";
