import { describe, expect, it } from 'vitest';
import { WORKER_NAME } from '../core/workers.js';
import { builderNameFromEnv } from './builder.js';

describe("a builder's name", () => {
  it('is ARCHIVE_BUILDER_NAME, made a worker name whatever the node is called', () => {
    expect(builderNameFromEnv({ ARCHIVE_BUILDER_NAME: 'archive-1234abcd-builder' })).toBe('archive-1234abcd-builder');
    // On a Swarm it ends in the node's host name, which may be a dotted, upper-case one.
    expect(builderNameFromEnv({ ARCHIVE_BUILDER_NAME: 'archive-1234abcd-builder-Build01.example.org' })).toBe('archive-1234abcd-builder-build01-example-org');
    const long = builderNameFromEnv({ ARCHIVE_BUILDER_NAME: `archive-1234abcd-builder-${'n'.repeat(40)}-${'x'.repeat(30)}` });
    expect(long).toHaveLength(63);
    for (const name of [long, builderNameFromEnv({ ARCHIVE_BUILDER_NAME: '--..--' }), builderNameFromEnv({ ARCHIVE_BUILDER_NAME: `${'a'.repeat(62)}.b` })]) {
      expect(name, name).toMatch(WORKER_NAME);
    }
  });
});
