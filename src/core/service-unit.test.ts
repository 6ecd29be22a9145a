// The unit `archive service install` writes, read back as systemd reads it: each path one word of
// ExecStart= as it was, none of it a variable or a specifier, and nothing able to add a line.
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { serviceUnit } from './service-unit.js';

const input = { project: 'archive-abc123', root: '/srv/archive', node: '/usr/bin/node', cli: '/opt/aib/bin/archive.js' };

/**
 * ExecStart='s words as systemd gets them (systemd.syntax(7), systemd.service(5)): split at
 * spaces outside quotes, \ escapes undone in quotes, %% to %; then, in each argument (not the
 * executable), $$ to $. Throws where a specifier or a variable is left, which systemd would expand.
 */
function execWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
    if (/%(?!%)/.test(raw.replaceAll('%%', ''))) throw new Error(`a specifier in ${raw}`);
    const printed = raw.replaceAll('%%', '%');
    if (words.length === 0) words.push(printed);
    else {
      if (/\$(?!\$)/.test(printed.replaceAll('$$', ''))) throw new Error(`a variable in ${printed}`);
      words.push(printed.replaceAll('$$', '$'));
    }
  }
  return words;
}
const line = (unit: string, key: string) => unit.split('\n').find((l) => l.startsWith(`${key}=`))!.slice(key.length + 1);

describe('the systemd unit of archive service install', () => {
  it('runs archive up and down on the root, after the Docker engine', () => {
    const unit = serviceUnit(input);
    expect(unit).toContain('Description=archive-in-a-box at "/srv/archive"\nRequires=docker.service\n');
    expect(line(unit, 'ExecStart')).toBe('/usr/bin/node /opt/aib/bin/archive.js --root /srv/archive up');
    expect(line(unit, 'ExecStop')).toBe('/usr/bin/node /opt/aib/bin/archive.js --root /srv/archive down');
  });

  it('writes each path as one word systemd reads back as it was: spaces, quotes, backslashes, specifiers and variables', () => {
    const root = '/srv/my "archive" \\ %h ${HOME} $HOME $$';
    const cli = '/opt/a$b/%n/archive.js';
    const unit = serviceUnit({ ...input, root, cli, node: '/opt/node$1/bin/node' });
    expect(execWords(line(unit, 'ExecStart'))).toEqual(['/opt/node$1/bin/node', cli, '--root', root, 'up']);
    expect(execWords(line(unit, 'ExecStop'))).toEqual(['/opt/node$1/bin/node', cli, '--root', root, 'down']);
    expect(line(unit, 'ExecStart')).toContain('"/srv/my \\"archive\\" \\\\ %%h $${HOME} $$HOME $$$$"');
    // Description=: specifiers only ($ is no variable there), and quoted so a root ending in \ joins no next line.
    expect(line(unit, 'Description')).toBe('archive-in-a-box at "/srv/my "archive" \\ %%h ${HOME} $HOME $$"');
    expect(serviceUnit({ ...input, root: '/srv/a\\' })).toContain('Description=archive-in-a-box at "/srv/a\\"\nRequires=docker.service\n');
  });

  it.each([
    ['the archive root', { root: '/srv/a\nExecStartPre=/tmp/x' }, 'U+000A'],
    ['the archive root', { root: '/srv/a\rb' }, 'U+000D'],
    ["the program's path", { cli: '/opt/a\tb/archive.js' }, 'U+0009'],
    ["node's path", { node: '/usr/bin/node\u007f' }, 'U+007F'],
  ])('refuses a control character in %s, naming it', (what, change, code) => {
    const call = () => serviceUnit({ ...input, ...change });
    expect(call).toThrow(UserError);
    expect(call).toThrow(`${what} ${JSON.stringify(Object.values(change)[0])} holds a control character (${code})`);
  });
});
