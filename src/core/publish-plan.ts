// What each suite publishes: the newest accepted version of each source, and for each binary
// package and architecture the newest built version (older binaries stay until the new
// source's builds are done, as in Debian). Architecture: all goes into every binary-ARCH index.
import type { ArchiveConfig } from '../config/config.js';
import { Paragraph } from '../debian/deb822.js';
import { compareVersions } from '../debian/version.js';
import { packagesStanza } from '../debian/indices.js';
import type { JobRecord } from './jobs.js';
import type { UploadRecord } from './uploads.js';

export interface SuitePlan {
  suite: string;
  components: string[];
  architectures: string[];
  sources: Paragraph[];
  /** Packages stanzas per architecture. */
  packages: Map<string, Paragraph[]>;
}

const PUBLISHABLE = new Set(['accepted', 'building', 'dep-wait', 'published', 'failed']);

export function planPublication(config: ArchiveConfig, uploads: UploadRecord[], jobs: JobRecord[]): SuitePlan[] {
  return config.suites.map((suite) => {
    const mine = uploads.filter((u) => u.suite === suite.name && PUBLISHABLE.has(u.state) && u.sourceStanza);
    const latestSource = new Map<string, UploadRecord>();
    for (const u of mine) {
      const held = latestSource.get(u.source);
      if (!held || compareVersions(u.version, held.version) > 0) latestSource.set(u.source, u);
    }
    const sources = [...latestSource.values()]
      .sort((a, b) => a.source.localeCompare(b.source))
      .map((u) => new Paragraph(u.sourceStanza!));

    // Newest build of each (package, arch) among built jobs of this suite's uploads.
    const ids = new Set(mine.map((u) => u.id));
    const best = new Map<string, { version: string; stanza: Paragraph; arch: string }>();
    for (const job of jobs) {
      if (job.state !== 'built' || !ids.has(job.uploadId)) continue;
      for (const b of job.binaries) {
        const control = new Paragraph(b.control);
        const name = control.first('Package');
        const arch = control.first('Architecture');
        const version = control.first('Version');
        const key = `${name} ${arch}`;
        const held = best.get(key);
        if (held && compareVersions(version, held.version) <= 0) continue;
        const stanza = packagesStanza(control, b);
        best.set(key, { version, stanza, arch });
      }
    }
    const packages = new Map<string, Paragraph[]>();
    for (const arch of suite.architectures) {
      packages.set(
        arch,
        [...best.values()]
          .filter((b) => b.arch === arch || b.arch === 'all')
          .sort((a, b) => a.stanza.first('Package').localeCompare(b.stanza.first('Package')) || a.arch.localeCompare(b.arch))
          .map((b) => b.stanza),
      );
    }
    return { suite: suite.name, components: suite.components, architectures: suite.architectures, sources, packages };
  });
}
