/**
 * GET /v1/directory: the registry as the signed, versioned document of envelope.md §23, for any
 * registered party to verify, cache and refresh (services/registry/published.ts).
 */
import { publishDirectory, type PublishedDirectory } from '../registry/published';
import { registryVersion } from '../store/evidenceLeaves';
import { partyRecords } from '../store/parties';
import type { RedirectDeps } from './redirects';

export async function currentDirectory(deps: Pick<RedirectDeps, 'db' | 'router'>): Promise<PublishedDirectory> {
  const [records, version] = await Promise.all([partyRecords(deps.db), registryVersion(deps.db)]);
  return publishDirectory(deps.router.signing, records, version);
}
