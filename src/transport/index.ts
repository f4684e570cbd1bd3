export type * from './types.js';
export { SerialTransport } from './serial-transport.js';
export { SimTransport, type SimTransportOptions } from './sim-transport.js';
export { QueuedLink, DEFAULT_TIMEOUT_MS, describeBytes, type LinkOptions } from './link.js';
export { lineReply, fixedLengthReply, lengthPrefixedReply, frameText } from './framing.js';
export { PortHub, type PortLease, type PortRequest, type PortHubOptions } from './port-hub.js';
export { checkPortClaims, portKey, type PortClaim, type PortConflict } from './port-claims.js';
export { DEFAULT_SERIAL, lineRate, bitsPerCharacter, sameSerialSettings, describeSerial } from './serial-settings.js';
export { listSerialPorts, type DiscoveredPort } from './port-discovery.js';
