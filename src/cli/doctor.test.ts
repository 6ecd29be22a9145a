// What archive doctor gathers from the configuration: the base images whose absence needs debootstrap.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import { neededBaseImages } from './doctor.js';

describe('archive doctor', () => {
  it("looks for every base image archive up makes: the services', and each suite's base for each architecture, not the first suite's only", () => {
    const config = parseConfig('suites:\n  unstable:\n    base: sid\n    architectures: [amd64, arm64]\n  stable:\n    base: trixie\n    architectures: [amd64]\n', 'archive.yaml');
    expect(neededBaseImages(config).sort()).toEqual(['archive/base:sid', 'archive/base:sid-amd64', 'archive/base:sid-arm64', 'archive/base:trixie-amd64']);
  });
});
