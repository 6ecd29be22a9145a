// .dockerignore rules as the Docker client applies them (moby/patternmatcher): the last
// matching pattern wins, "!" re-includes, a pattern that matches a directory covers what is in it.
import { posix } from 'node:path';

interface Rule {
  regex: RegExp;
  exclusion: boolean;
  pattern: string;
}

function toRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function parseDockerignore(text: string): Rule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const exclusion = line.startsWith('!');
      let pattern = exclusion ? line.slice(1).trim() : line;
      pattern = posix.normalize(pattern).replace(/^\/+/, '').replace(/\/+$/, '');
      return { regex: toRegex(pattern), exclusion, pattern };
    });
}

/** Whether a context-relative path (posix separators) is left out of the build context. */
export function isIgnored(rules: Rule[], path: string): boolean {
  const parents: string[] = [];
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) parents.push(parts.slice(0, i).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (parents.some((p) => rule.regex.test(p))) ignored = !rule.exclusion;
  }
  return ignored;
}

/** Whether a directory can be skipped whole: ignored, and no "!" rule could reach inside it. */
export function canSkipDirectory(rules: Rule[], dir: string): boolean {
  if (!isIgnored(rules, dir)) return false;
  return !rules.some((r) => r.exclusion && (r.pattern.startsWith(`${dir}/`) || r.pattern.includes('*')));
}
