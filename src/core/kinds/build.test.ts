import { describe, expect, it } from 'vitest';
import { depsFiles, type LocalArchive } from './build.js';

const local: LocalArchive = { network: 'bridge', url: 'https://archive.example:8443/', suite: 'unstable', components: ['main'], key: 'KEY' };
const dsc = { name: 'p_1.dsc', data: Buffer.from('DSC') };
const names = (files: { name: string }[]) => files.map((f) => f.name);

describe("the dependencies container's files", () => {
  it('give apt the local archive as a signed source', () => {
    const files = depsFiles(dsc, local);
    expect(names(files)).toEqual(['tmp/deps/p_1.dsc', 'etc/apt/keyrings/archive-in-a-box.asc', 'etc/apt/archive-in-a-box.d/archive-in-a-box.sources']);
    expect(files[2].data.toString()).toContain('URIs: https://archive.example:8443/\nSuites: unstable\nComponents: main\nSigned-By: /etc/apt/keyrings/archive-in-a-box.asc\n');
  });

  it('trust the CA of a self-signed archive for its host alone', () => {
    const files = depsFiles(dsc, { ...local, ca: 'CA-PEM' });
    expect(files.find((f) => f.name === 'etc/apt/archive-in-a-box-ca.pem')?.data.toString()).toBe('CA-PEM');
    expect(files.find((f) => f.name === 'etc/apt/apt.conf.d/90archive-in-a-box-ca')?.data.toString()).toBe('Acquire::https::archive.example::CaInfo "/etc/apt/archive-in-a-box-ca.pem";\n');
  });
});
