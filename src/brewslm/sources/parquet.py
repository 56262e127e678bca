"""``parquet:/path`` — Apache Parquet, streamed record batch by record batch with pyarrow.

Values become plain JSON-like Python values (dates and timestamps as ISO strings, decimals as
numbers). When the file was written by Hugging Face ``datasets`` its ``ClassLabel`` integers are
turned into their names, as the ``hf:`` connector does. ``?columns=a,b`` reads only those columns;
``?batch_size=N`` sets the rows per batch (default 1024). A file that is not Parquet (or is
truncated: no footer) is a one-line ``SourceError``; an empty (0-byte) file yields zero rows.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from brewslm.sources.base import Locator, SourceRow
from brewslm.sources.class_labels import features_from_parquet_metadata, row_decoder
from brewslm.sources.filebase import FileSource, int_option, jsonable


def _arrow_message(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class ParquetSource(FileSource):
    text_format = False  # binary: no ?encoding=
    options_doc = {
        "columns": "comma-separated columns to read (default: all)",
        "batch_size": "rows per record batch (default 1024)",
    }

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.batch_size = int_option(locator, "batch_size", 1024)
        raw_columns = locator.options.get("columns")
        self.columns = [c.strip() for c in raw_columns.split(",") if c.strip()] if raw_columns else None
        self.decode = None
        if self.is_empty:
            return
        try:
            schema = pq.ParquetFile(self.path).schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise self.error(f"is not a readable Parquet file ({_arrow_message(exc)})") from None
        if self.columns:
            missing = [c for c in self.columns if c not in schema.names]
            if missing:
                raise self.error(f"has no column '{missing[0]}'; its columns: {', '.join(schema.names)}")
        self.decode = row_decoder(features_from_parquet_metadata(schema.metadata))

    def rows(self) -> Iterator[SourceRow]:
        if self.is_empty:
            return
        count = 0
        with self.reading(lambda: f"after row {count}"):
            try:
                parquet = pq.ParquetFile(self.path)
                for batch in parquet.iter_batches(batch_size=self.batch_size, columns=self.columns):
                    for row in batch.to_pylist():
                        count += 1
                        row = jsonable(row)
                        yield self.decode(row) if self.decode else row
            except pa.ArrowException as exc:
                raise self.error(f"cannot be read after row {count} ({_arrow_message(exc)})") from None


SOURCES = {"parquet": ParquetSource}
