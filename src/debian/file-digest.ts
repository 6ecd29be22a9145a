// What an archive knows of a file's bytes: its size and the three checksums Debian's indices
// and .changes/.dsc lists carry (Files/MD5Sum, Checksums-Sha1, Checksums-Sha256). The one
// shape for them: the queue's records (core/uploads.ts, core/jobs.ts), the facts measured on a
// file (storage/files.ts) and what a .changes or .dsc lists (changes-dsc.ts) are all built from
// it, with these field names, which stored JSON records use.

export interface FileDigest {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}
