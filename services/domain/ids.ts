/**
 * Identifiers that parties choose live in the chooser's namespace: `<party id>:<anything>`. An
 * application id begins with its platform's id, a hop id with its sender's, a consent id with the
 * id of the party that collected it. So no party can squat on, collide with or probe another's
 * ids: an id outside the caller's namespace is refused before anything is looked up.
 */
export const NAMESPACE_SEPARATOR = ':';

export function inNamespace(id: string, owner: string): boolean {
  return id.length > owner.length + 1 && id.startsWith(owner + NAMESPACE_SEPARATOR);
}

/** An id in `owner`'s namespace: `<owner>:<local>`. */
export function namespaced(owner: string, local: string): string {
  return `${owner}${NAMESPACE_SEPARATOR}${local}`;
}
