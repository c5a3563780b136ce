"""Files uploaded for a CSV import, kept in the database between the dry run and the apply, so
that a job worker on any host reads the file the web server received. A file is stored as
chunks of CHUNK_SIZE bytes and read back one chunk at a time: memory stays flat whatever its
size. It goes when its import is applied, or a day after its upload."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models import NEVER_REUSE_IDS, db, utcnow

CHUNK_SIZE = 1024 * 1024
MAX_FILENAME_LENGTH = 255
KEY_LENGTH = 43  # secrets.token_urlsafe(32)


class ImportFile(db.Model):
    __tablename__ = "import_files"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name the apply form carries: random, so that nobody reaches a file by counting.
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    filename: Mapped[str] = mapped_column(String(MAX_FILENAME_LENGTH))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    # The uploader's working copy, not a record of the catalog: it goes with its account.
    created_by_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)

    def __repr__(self) -> str:
        return f"<ImportFile {self.id} {self.filename!r}>"


class ImportFileChunk(db.Model):
    __tablename__ = "import_file_chunks"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("import_files.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)  # 0, 1, ... in file order
    data: Mapped[bytes] = mapped_column(LargeBinary)
