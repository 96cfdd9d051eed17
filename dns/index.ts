// Container name resolution: what the engine uses. See dns/README.md.
export { DEFAULT_LIMITS, DEFAULT_TTL, DnsResponder, type ListenerStatus, type NetworkConfig, type ResponderLimits, type ResponderOptions, type ResponderStats } from './responder.js';
export { type ContainerRecord, type ContainerRecordInput, SHORT_ID_LENGTH, validateRecords } from './records.js';
export { type DnsStatePaths, type RecordsFile, type ResponderFile, dnsStatePaths, parseRecordsFile, parseResponderFile, removeRecordsFile, writeRecordsFile, writeResponderFile } from './state-files.js';
export { type LaunchOptions, ensureResponder, stopResponder } from './launch.js';
export { readyPid, runningPid } from './pid-file.js';
export { type ExtraHost, HOST_GATEWAY, type HostsFileOptions, hostnameFile, hostsFile, parseAddHost, resolveHostGateway, validateHostname } from './hosts-file.js';
export { type ContainerResolvConf, type ContainerResolvOptions, containerResolvConf, validateDnsFlags } from './resolv-conf.js';
export { type Server, hostResolvConf, parseServer, usableNameservers } from './upstreams.js';
