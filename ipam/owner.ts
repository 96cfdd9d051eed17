// Who holds a reserved address: the content of a reservation file. The reference host-local writes
// `<containerID>\r\n<ifname>`; its older versions wrote only the container ID, and both plugins
// must keep honouring such files.

export interface Owner {
  containerId: string;
  /** Undefined for a legacy reservation that recorded only the container ID. */
  ifname?: string;
}

const SEPARATOR = '\r\n';

export const serializeOwner = (o: Owner): string => `${o.containerId.trim()}${SEPARATOR}${o.ifname ?? ''}`;

/** The owner recorded in a reservation file; undefined for an empty file (a crash before the write). */
export function parseOwner(content: string): Owner | undefined {
  // Trim like the reference does, so a trailing newline added by hand still matches.
  const text = content.trim();
  if (text === '') return undefined;
  const sep = text.indexOf(SEPARATOR);
  return sep < 0 ? { containerId: text } : { containerId: text.slice(0, sep), ifname: text.slice(sep + SEPARATOR.length) };
}

export const formatOwner = (o: Owner): string =>
  o.ifname === undefined ? `container ${o.containerId}` : `container ${o.containerId} (${o.ifname})`;

/** Exactly this attachment: a legacy (ID-only) reservation never matches here. */
export const isAttachment = (o: Owner, containerId: string, ifname: string): boolean =>
  o.containerId === containerId.trim() && o.ifname === ifname;

/** A legacy reservation of this container, whatever its interface was. */
export const isLegacyOf = (o: Owner, containerId: string): boolean =>
  o.ifname === undefined && o.containerId === containerId.trim();

/**
 * Which of the given reservations belong to (containerId, ifname): its exact reservations or, only
 * when it has none, its legacy ID-only ones. The fallback matters when one container has several
 * interfaces on the network: a legacy file cannot say which one it was for, so it is given up only
 * once nothing else identifies the attachment (the reference plugin decides the same way).
 */
export function reservationsOf<T extends { owner: Owner }>(items: readonly T[], containerId: string, ifname: string): T[] {
  const exact = items.filter((i) => isAttachment(i.owner, containerId, ifname));
  return exact.length > 0 ? exact : items.filter((i) => isLegacyOf(i.owner, containerId));
}
