import { describe, expect, it } from 'vitest';
import { binaryFileName, componentFor, poolDirOf, poolPrefix } from './pool-path.js';

describe('pool paths', () => {
  it('puts lib* sources under a four-letter pool prefix, as dak does', () => {
    expect(poolPrefix('libfoo')).toBe('libf');
    expect(poolPrefix('hello')).toBe('h');
  });

  it('puts a package in the component its section names when the suite has it (Policy 2.4)', () => {
    expect(componentFor('contrib/net', ['main', 'contrib'])).toBe('contrib');
    expect(componentFor('non-free/net', ['main', 'contrib'])).toBe('main');
    expect(componentFor('net', ['main', 'contrib'])).toBe('main');
    expect(componentFor(undefined, ['main'])).toBe('main');
  });

  it('spells a source directory and a binary file name as dak does, the epoch left out', () => {
    expect(poolDirOf('main', 'hello')).toBe('pool/main/h/hello');
    expect(poolDirOf('contrib', 'libfoo')).toBe('pool/contrib/libf/libfoo');
    expect(binaryFileName('hello', '1:2.10-3', 'amd64', 'deb')).toBe('hello_2.10-3_amd64.deb');
    expect(binaryFileName('hello-udeb', '2.10-3', 'all', 'udeb')).toBe('hello-udeb_2.10-3_all.udeb');
  });
});
