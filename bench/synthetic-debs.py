#!/usr/bin/env python3
"""The publisher bench's synthetic packages, written directly: OUT N FIRST LAST writes
synthetic-FIRST .. synthetic-LAST of N into OUT (OUT --extra N: the package added to them) as .debs in dpkg-deb's layout (an ar archive of
debian-binary, control.tar.xz and data.tar.xz; tar entries under ./, owned by root), each
with a Depends line and a long Description so that Packages stanzas have a realistic size, and
names of 16 characters, the median of Debian's (bookworm main: 63,440 packages, 69% of their
names 13 characters or more, the length from which V8 keeps a string cut from a text as a view of it).
dpkg-deb, one process per package, made about 25 a second here; this makes thousands, so
that the bench can reach 100,000 packages."""
import io
import lzma
import sys
import tarfile
import time

MTIME = int(time.time())


def tar_xz(files):
    """files: (path under ./, bytes or None for a folder, mode)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, data, mode in files:
            info = tarfile.TarInfo(path)
            info.mtime = MTIME
            info.uname = info.gname = "root"
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    # A small dictionary: the members are a few KiB, and a default one costs megabytes per call.
    return lzma.compress(raw.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=[{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 64 * 1024}])


def ar_member(name, data):
    header = f"{name:<16}{MTIME:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
    return header + data + (b"\n" if len(data) % 2 else b"")


def deb(i, n, extra=False):
    """Package i of n; extra: the one added to the n, named to sort in their middle, right after
    synthetic-(n/2) (amd64, depending on base-files alone), so that it lands in a middle chunk of
    Packages, as an upload of any name would on average."""
    name = f"synthetic-{n // 2:06d}a" if extra else f"synthetic-{i:06d}"
    arch = "all" if i % 2 == 0 and not extra else "amd64"
    depends = "base-files (>= 12)" if extra else f"base-files (>= 12), synthetic-{i % n + 1:06d} (>= 1.0) | libc6 (>= 2.36)"
    control = "\n".join([
        f"Package: {name}",
        "Version: 1.0-1",
        f"Architecture: {arch}",
        "Maintainer: archive-in-a-box bench <bench@example.org>",
        "Installed-Size: 12",
        f"Depends: {depends}",
        "Section: misc",
        "Priority: optional",
        f"Homepage: https://example.org/{name}",
        f"Description: synthetic package {i} for the publisher bench",
        " This package exists only so that a repository publisher has something to",
        " index: it installs a README and a copyright file under /usr/share/doc and",
        " does nothing else. Its long description is about as long as a typical one",
        " in Debian, so that the Packages index grows at a realistic rate per package.",
        " .",
        f" Number {i} of {n}; architecture {arch}.",
        "",
    ]).encode()
    readme = f"{name}\n\nA synthetic package (number {i}) made by bench/publisher.sh.\n".encode()
    copyright_ = f"{name}: synthetic, made by bench/publisher.sh.\n\nCopyright: 2026 archive-in-a-box bench\nLicense: CC0-1.0\n".encode()
    doc = f"./usr/share/doc/{name}"
    data = tar_xz([("./", None, 0o755), ("./usr/", None, 0o755), ("./usr/share/", None, 0o755),
                   ("./usr/share/doc/", None, 0o755), (f"{doc}/", None, 0o755),
                   (f"{doc}/README", readme, 0o644), (f"{doc}/copyright", copyright_, 0o644)])
    ctl = tar_xz([("./", None, 0o755), ("./control", control, 0o644)])
    body = b"!<arch>\n" + ar_member("debian-binary", b"2.0\n") + ar_member("control.tar.xz", ctl) + ar_member("data.tar.xz", data)
    return f"{name}_1.0-1_{arch}.deb", body


def main():
    out = sys.argv[1]
    if sys.argv[2] == "--extra":
        jobs = [deb(1, int(sys.argv[3]), extra=True)]
    else:
        n, first, last = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        jobs = (deb(i, n) for i in range(first, last + 1))
    for fname, body in jobs:
        with open(f"{out}/{fname}", "wb") as f:
            f.write(body)


if __name__ == "__main__":
    main()
