"""Score files streamed in chunks: reading CSV / TSV / Parquet a chunk at a time (row
numbers kept across chunks) and appending results to a CSV or Parquet file, so memory
stays bounded however many rows a file holds. No torch, no onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pandas as pd

from ..data.reading import READERS, parquet_module, sniff_csv


def file_chunks(path: Path, chunk_size: int) -> tuple[Iterator[pd.DataFrame], int | None]:
    """Chunks of a CSV/TSV/Parquet file and, where cheap to know, its row count."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ValueError(f"cannot read '{path}': expected a .csv, .tsv or .parquet file")
    if not path.is_file():
        raise FileNotFoundError(f"data file '{path}' does not exist")
    if READERS[suffix] == "parquet":
        reader = parquet_module().ParquetFile(path)
        chunks, total = (b.to_pandas() for b in reader.iter_batches(batch_size=chunk_size)), reader.metadata.num_rows
    else:
        chunks, total = pd.read_csv(path, chunksize=chunk_size, **sniff_csv(path)), None
    return numbered(chunks), total


def numbered(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The chunks with the file's row numbers (from 0) as their index."""
    done = 0
    for chunk in chunks:
        yield chunk.set_axis(pd.RangeIndex(done, done + len(chunk)))
        done += len(chunk)


class ChunkWriter:
    """Appends frames to a CSV or Parquet file inside a reserved work area; the caller
    publishes the finished file (see :mod:`pytext_psych.core.outputs`)."""

    def __init__(self, path: Path):
        self.path = path
        self.parquet = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.path.suffix.lower() == ".csv":
            first = not self.path.exists()
            frame.to_csv(self.path, mode="w" if first else "a", header=first, index=False)
            return
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.parquet is None:
            self.parquet = parquet_module().ParquetWriter(self.path, table.schema)
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
