//! Archiving a partition before its drop: its rows as gzip-compressed NDJSON
//! (`row_to_json`, in `seq` order), written to a temporary name, synced,
//! renamed, then read back — decompressed, its lines counted and its bytes
//! hashed — and accepted only when both match what was written.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::model::PartitionArchive;
use crate::store::retention::{self, Partition};

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Write the partition's archive into `dir` and check it; its record.
pub async fn write(pool: &PgPool, partition: &Partition, dir: &Path) -> anyhow::Result<PartitionArchive> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating the archive folder {}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.ndjson.gz", partition.name));
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    let file = File::create(&partial).map_err(|e| anyhow::anyhow!("creating {}: {e}", partial.display()))?;
    let mut gzip = GzEncoder::new(Hashing { inner: BufWriter::new(file), hash: Sha256::new(), bytes: 0 }, Compression::default());
    let mut conn = pool.acquire().await?;
    let rows = retention::stream_rows_json(&mut conn, partition, |line| {
        gzip.write_all(line.as_bytes())?;
        gzip.write_all(b"\n")
    })
    .await?;
    let mut hashing = gzip.finish()?;
    hashing.flush()?;
    let sha256 = hex::encode(hashing.hash.finalize());
    let bytes = hashing.bytes;
    hashing.inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&partial, &path)?;

    let check = path.clone();
    let (read_sha256, read_rows) = tokio::task::spawn_blocking(move || read_back(&check)).await??;
    anyhow::ensure!(
        read_sha256 == sha256 && read_rows == rows,
        "the archive {} read back as {read_rows} rows with SHA-256 {read_sha256}, not {rows} rows with {sha256}",
        path.display()
    );
    Ok(PartitionArchive {
        partition: partition.name.clone(),
        range_from: partition.from,
        range_to: partition.to,
        path: Some(path.display().to_string()),
        rows: Some(rows as i64),
        bytes: Some(bytes as i64),
        sha256: Some(sha256),
        archived_at: Some(Utc::now()),
        dropped_at: None,
        error: None,
    })
}

/// A reader that hashes what is read through it.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// The SHA-256 of an archive file and the number of lines it decompresses
/// to, reading it once, in pieces.
fn read_back(path: &Path) -> anyhow::Result<(String, u64)> {
    let file = BufReader::new(File::open(path)?);
    let mut decoder = GzDecoder::new(HashingReader { inner: file, hash: Sha256::new() });
    let mut lines = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = decoder.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let mut rest = decoder.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    Ok((hex::encode(rest.hash.finalize()), lines))
}

/// The record of an archive that could not be written.
pub fn failed(partition: &Partition, error: &anyhow::Error) -> PartitionArchive {
    PartitionArchive {
        partition: partition.name.clone(),
        range_from: partition.from,
        range_to: partition.to,
        path: None,
        rows: None,
        bytes: None,
        sha256: None,
        archived_at: None,
        dropped_at: None,
        error: Some(format!("{error:#}")),
    }
}
