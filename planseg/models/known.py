"""The official SAM checkpoint files, with the SHA-256 and size users can check downloads against.

Provenance of the values: Meta's segment-anything README publishes the download URLs
(``https://dl.fbaipublicfiles.com/segment_anything/<file>``) but no checksums. The SHA-256
values and byte sizes below are the ones independent projects record and verify downloads
against, identical across them (e.g. micro-sam's model registry, computational-cell-analytics/
micro-sam ``_CHECKSUMS``; several Docker files piping the download through ``sha256sum -c``).
They were not recomputed here: no checkpoint was downloaded while writing this file.
"""

from __future__ import annotations

from dataclasses import dataclass

DOWNLOAD_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
SHA256_SOURCE = ("published by Meta: URLs only; SHA-256/size as recorded by independent "
                 "projects verifying these downloads (e.g. micro-sam)")


@dataclass(frozen=True)
class KnownCheckpoint:
    """One official SAM checkpoint file: its name, architecture, SHA-256 (hex) and size."""

    filename: str
    arch: str
    sha256: str
    size_bytes: int

    @property
    def url(self) -> str:
        """Where Meta publishes the file (planseg itself never downloads it)."""
        return DOWNLOAD_BASE_URL + self.filename


KNOWN_CHECKPOINTS: tuple[KnownCheckpoint, ...] = (
    KnownCheckpoint("sam_vit_h_4b8939.pth", "vit_h",
                    "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
                    2564550879),
    KnownCheckpoint("sam_vit_l_0b3195.pth", "vit_l",
                    "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
                    1249524607),
    KnownCheckpoint("sam_vit_b_01ec64.pth", "vit_b",
                    "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
                    375042383),
)


def known_checkpoint_for_sha256(sha256: str) -> KnownCheckpoint | None:
    """The official checkpoint with this hex SHA-256, or None."""
    sha256 = sha256.lower()
    return next((k for k in KNOWN_CHECKPOINTS if k.sha256 == sha256), None)


def known_checkpoint_for_name(filename: str) -> KnownCheckpoint | None:
    """The official checkpoint with this file name (no directory), or None."""
    return next((k for k in KNOWN_CHECKPOINTS if k.filename == filename), None)
