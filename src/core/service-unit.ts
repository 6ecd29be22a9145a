// The systemd unit `archive service install` writes: the archive up at boot (after the Docker
// engine), down at shutdown. Pure: names and paths in, unit text out.
import { UserError } from '../errors.js';

export interface ServiceUnitInput {
  /** The archive's compose project name (name-hash of the root): unique per root. */
  project: string;
  root: string;
  node: string;
  cli: string;
}

export function serviceUnitName(project: string): string {
  return `archive-in-a-box-${project}.service`;
}

/**
 * A value as written into the unit: a control character is refused, as a newline would end the
 * line and start one of the value's own (ExecStartPre=, User=) in a unit run as root.
 */
function oneLine(what: string, value: string): string {
  const bad = value.match(/[\u0000-\u001f\u007f]/);
  if (bad) {
    throw new UserError(
      `${what} ${JSON.stringify(value)} holds a control character (U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}); the systemd unit would carry it into its lines: expected printable characters only, so use a path without one`,
    );
  }
  return value;
}

/**
 * One word of ExecStart=, by systemd.syntax(7) and systemd.service(5)'s command lines: quoted when
 * it has spaces or specials (\ and " escaped inside), % doubled (specifiers are expanded in every
 * word), and $ doubled in an argument, where ${NAME} and $NAME are the environment's and $$ is a
 * literal $; not in the executable, a literal path systemd never substitutes.
 */
const word = (s: string, executable: boolean) => {
  const quoted = /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/["\\]/g, '\\$&')}"`;
  return (executable ? quoted : quoted.replaceAll('$', () => '$$')).replaceAll('%', '%%');
};

export function serviceUnit(i: ServiceUnitInput): string {
  const root = oneLine('the archive root', i.root);
  const node = oneLine("node's path", i.node);
  const program = oneLine("the program's path", i.cli);
  const cli = (command: string) => [node, program, '--root', root, command].map((s, n) => word(s, n === 0)).join(' ');
  // Description= is taken as it is but for its specifiers (% doubled; $ is no variable there); the
  // root is in quotes so that the line never ends in a \, which would join the next line to it.
  return `# Written by archive service install; removed by archive service uninstall.
[Unit]
Description=archive-in-a-box at "${root.replaceAll('%', '%%')}"
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
# Image builds on a first start take minutes.
TimeoutStartSec=1800
ExecStart=${cli('up')}
ExecStop=${cli('down')}

[Install]
WantedBy=multi-user.target
`;
}
