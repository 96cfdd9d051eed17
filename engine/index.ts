// The engine as a library: what the ctnet CLI, the Docker plugin and other engines build on.
export { type PortMapping, type Protocol, PROTOCOLS, parsePublishSpec } from './publish-spec.js';
export { type HostPortOptions, allocateHostPort, boundPorts, pickHostPort, readEphemeralRange, resolveHostPort } from './host-ports.js';
export { type NetworkConfigList, type PluginConf, findNetworkConfig, loadConfDir, loadConfFile, parseConfList } from './conflist.js';
export { type CachedAttachment, CniRuntime, type PluginRun, type PluginVersionInfo, type RuntimeConf, type RuntimeOptions } from './runtime.js';
export { type CacheEntry, DEFAULT_CACHE_DIR, ResultCache } from './result-cache.js';
export { type AddressPool, DEFAULT_ADDRESS_POOLS, chooseSubnet, findOverlap } from './subnet-pools.js';
export {
  type BridgeDefaults,
  type BridgeNetworkRequest,
  type ConfListDocument,
  type IpamConfig,
  type NetworkMeta,
  PREDEFINED_NETWORKS,
  buildBridgeNetwork,
  pairIpamOptions,
  validateNetworkName,
} from './network-config.js';
export { DEFAULT_ROOT, NetworkStore, type NetworkStoreOptions } from './network-store.js';
export { type ConnectOptions, type ContainerView, Engine, type EngineOptions, type NetworkView, type RunOptions } from './engine.js';
export { type ContainerAttachment, type ContainerRecord, ContainerStore, type NetworkMode, type PublishedPort } from './container-store.js';
export { type DaemonConfig, DEFAULT_DAEMON_CONFIG, loadDaemonConfig, parseDaemonConfig } from './daemon-config.js';
export { inspectContainer, inspectNetwork, portLines } from './views.js';
