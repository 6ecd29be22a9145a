// The systemd unit `archive service install` writes: the archive up at boot (after the Docker
// engine), down at shutdown. Pure: names and paths in, unit text out.

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

/** systemd.syntax(7): a value with spaces or specials is quoted; % is doubled. */
const quote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/["\\]/g, '\\$&')}"`).replaceAll('%', '%%');

export function serviceUnit(i: ServiceUnitInput): string {
  const cli = (command: string) => [i.node, i.cli, '--root', i.root, command].map(quote).join(' ');
  return `# Written by archive service install; removed by archive service uninstall.
[Unit]
Description=archive-in-a-box at ${i.root.replaceAll('%', '%%')}
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
