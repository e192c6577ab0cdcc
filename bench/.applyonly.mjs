import { settings } from "./lib/settings.mjs";
import { registryApplyLoad } from "./registry/bulk-load.mjs";
const r = await registryApplyLoad(settings, () => {});
console.log(JSON.stringify({ tag: process.env.TAG, perSecond: Math.round(r.perSecond), prep: r.prepSeconds?.toFixed?.(2), cpu: Math.round(r.serverCpuUsPerService) }));
