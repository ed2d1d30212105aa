// read.mjs reads archtics' published tables with readers we did not write
// and prints their rows as JSON lines in one canonical form, for the
// interop Go test (interop_test.go) to compare with `archtics query`.
//
//   node read.mjs iceberg NAME=TABLE_URL ...   icebird's icebergMetadata + icebergRead
//   node read.mjs duckdb FILE NAME ...         @duckdb/node-api over an exported DuckDB file
//   node read.mjs duckdb-views FILE            the views of an exported DuckDB file, one per line
//
// Per table it prints {"table":NAME,"columns":[{"name","type"}]} then
// {"table":NAME,"row":[...]} per row, or {"table":NAME,"error":"..."} if
// the reader fails; one table's failure does not stop the others.
//
// Canonical values (docs/interop.md): null and undefined as null, every
// other value as a string: strings as they are; integers in decimal;
// doubles as JavaScript's shortest round-trip text (the Go side parses
// both sides as float64); decimals with exactly their scale's digits;
// booleans true/false; dates YYYY-MM-DD; timestamps
// YYYY-MM-DDTHH:MM:SS.ffffff, with Z for timestamptz (UTC), except those
// icebird returns as JavaScript Dates (hyparquet's default parsers keep
// milliseconds): YYYY-MM-DDTHH:MM:SS.mmm. Anything else is JSON text.
//
// icebird fetches with the global fetch and turns s3:// URLs into
// https://<bucket>.s3.amazonaws.com/<key>; file:// URLs are not fetchable
// by Node. The fetch below serves file:// URLs from the local disk and
// sends the S3 ones to AWS_ENDPOINT_URL (path-style, signed with
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set), honouring Range: the
// transport is configured, the reader is not changed.

import { createHmac, createHash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { icebergMetadata, icebergRead } from 'icebird'

const realFetch = globalThis.fetch

// lastURL is the last object the reader asked for, named in its errors
// (icebird's own, such as "offset is out of bounds", name no file).
let lastURL = ''

globalThis.fetch = async function interopFetch(input, init = {}) {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  lastURL = url
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined))
  if (url.startsWith('file://')) return fileResponse(fileURLToPath(url), headers.get('range'))
  const s3 = /^https:\/\/([^/]+)\.s3\.amazonaws\.com(\/.*)$/.exec(url)
  if (s3) {
    const endpoint = process.env.AWS_ENDPOINT_URL
    if (!endpoint) throw new Error(`${url}: an S3 object, but AWS_ENDPOINT_URL is not set`)
    const target = new URL(endpoint.replace(/\/$/, '') + '/' + s3[1] + s3[2])
    signS3(target, headers, init.method ?? 'GET')
    return realFetch(target, { ...init, headers })
  }
  return realFetch(input, init)
}

// fileResponse answers a GET of a local file as a server honouring Range
// would: 206 with the bytes asked for, 200 with all of them, 404.
async function fileResponse(path, range) {
  let size
  try {
    size = (await stat(path)).size
  } catch {
    return new Response(`not found: ${path}`, { status: 404, statusText: 'Not Found' })
  }
  let start = 0
  let end = size - 1
  let status = 200
  const m = range && /^bytes=(\d*)-(\d*)$/.exec(range)
  if (m) {
    status = 206
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]))
    } else {
      start = Number(m[1])
      if (m[2] !== '') end = Math.min(end, Number(m[2]))
    }
  }
  const length = Math.max(0, end - start + 1)
  const buf = Buffer.alloc(length)
  const fh = await open(path, 'r')
  try {
    await fh.read(buf, 0, length, start)
  } finally {
    await fh.close()
  }
  const headers = { 'content-length': String(length) }
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`
  return new Response(buf, { status, headers })
}

// signS3 adds AWS Signature Version 4 headers for a bodiless request, so
// the harness works against any S3 endpoint, not only an unauthenticated
// one.
function signS3(url, headers, method) {
  const key = process.env.AWS_ACCESS_KEY_ID
  const secret = process.env.AWS_SECRET_ACCESS_KEY
  if (!key || !secret) return
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1'
  const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')
  const day = now.slice(0, 8)
  headers.set('x-amz-date', now)
  headers.set('x-amz-content-sha256', 'UNSIGNED-PAYLOAD')
  if (process.env.AWS_SESSION_TOKEN) headers.set('x-amz-security-token', process.env.AWS_SESSION_TOKEN)
  const names = ['host', ...[...headers.keys()].filter(h => h.startsWith('x-amz-') || h === 'range')].sort()
  const value = h => (h === 'host' ? url.host : headers.get(h).trim())
  const path = url.pathname.split('/').map(s => encodeURIComponent(decodeURIComponent(s))).join('/')
  const query = [...url.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).sort().join('&')
  const canonical = [method, path, query, ...names.map(h => `${h}:${value(h)}`), '', names.join(';'), 'UNSIGNED-PAYLOAD'].join('\n')
  const scope = `${day}/${region}/s3/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', now, scope, createHash('sha256').update(canonical).digest('hex')].join('\n')
  let k = `AWS4${secret}`
  for (const part of [day, region, 's3', 'aws4_request']) k = createHmac('sha256', k).update(part).digest()
  const signature = createHmac('sha256', k).update(toSign).digest('hex')
  headers.set('authorization', `AWS4-HMAC-SHA256 Credential=${key}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`)
}

const pad = (n, w = 2) => String(n).padStart(w, '0')

function isoDate(d) {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

// isoMicros is a timestamp given in microseconds since the epoch (UTC).
function isoMicros(micros) {
  const us = ((micros % 1000000n) + 1000000n) % 1000000n
  const d = new Date(Number((micros - us) / 1000n))
  return `${isoDate(d)}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(us, 6)}`
}

// canonical is one value as the Go side prints it. type is the Iceberg
// type (string, long, decimal(18,2), timestamptz...) or DuckDB's type name
// (VARCHAR, BIGINT, DECIMAL(18,2), TIMESTAMP WITH TIME ZONE...).
export function canonical(value, type) {
  if (value === null || value === undefined) return null
  const t = String(type).toLowerCase()
  const dec = /^decimal\((\d+),\s*(\d+)\)$/.exec(t)
  if (dec) {
    if (typeof value === 'number') return value.toFixed(Number(dec[2]))
    return String(value)
  }
  if (value instanceof Date) {
    if (t === 'date') return isoDate(value)
    const iso = value.toISOString().replace(/Z$/, '')
    return t === 'timestamptz' || t === 'timestamp with time zone' ? iso + 'Z' : iso
  }
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return value
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v))
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

async function readIceberg(name, tableUrl) {
  const metadata = await icebergMetadata({ tableUrl })
  const schema = metadata.schemas.find(s => s['schema-id'] === metadata['current-schema-id'])
  if (!schema) throw new Error('current schema not found in metadata')
  const columns = schema.fields.map(f => ({ name: f.name, type: typeof f.type === 'string' ? f.type : JSON.stringify(f.type) }))
  const rows = await icebergRead({ tableUrl, metadata })
  print({ table: name, columns })
  for (const row of rows) print({ table: name, row: columns.map(c => canonical(row[c.name], c.type)) })
}

// duckdbCanonical is a DuckDB value (from getRows) in canonical form:
// timestamps from their microseconds, so nothing is lost on the way.
function duckdbCanonical(value, type) {
  if (value === null || value === undefined) return null
  const t = type.toString()
  if (t === 'TIMESTAMP' || t === 'TIMESTAMP WITH TIME ZONE') {
    return isoMicros(BigInt(value.micros)) + (t === 'TIMESTAMP' ? '' : 'Z')
  }
  if (t === 'DATE' || t.startsWith('DECIMAL')) return value.toString()
  if (typeof value === 'object') return value.toString()
  return canonical(value, t)
}

async function openDuckDB(file) {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' })
  return instance.connect()
}

async function readDuckDB(conn, name) {
  const reader = await conn.runAndReadAll(`SELECT * FROM ${name}`)
  const names = reader.columnNames()
  const types = reader.columnTypes()
  print({ table: name, columns: names.map((n, i) => ({ name: n, type: types[i].toString() })) })
  for (const row of reader.getRows()) print({ table: name, row: row.map((v, i) => duckdbCanonical(v, types[i])) })
}

async function main(argv) {
  const [mode, ...args] = argv
  if (mode === 'iceberg' && args.length > 0) {
    for (const arg of args) {
      const eq = arg.indexOf('=')
      if (eq < 1) throw new Error(`want NAME=TABLE_URL, got ${arg}`)
      const name = arg.slice(0, eq)
      lastURL = ''
      try {
        await readIceberg(name, arg.slice(eq + 1))
      } catch (err) {
        print({ table: name, error: `${err?.message ?? err} (last object fetched: ${lastURL || 'none'})` })
      }
    }
    return
  }
  if (mode === 'duckdb-views' && args.length === 1) {
    const conn = await openDuckDB(args[0])
    const reader = await conn.runAndReadAll(
      `SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database() ORDER BY ALL`)
    for (const [schema, view] of reader.getRows()) print({ view: `${schema}.${view}` })
    return
  }
  if (mode === 'duckdb' && args.length >= 2) {
    const conn = await openDuckDB(args[0])
    for (const name of args.slice(1)) {
      try {
        await readDuckDB(conn, name)
      } catch (err) {
        print({ table: name, error: String(err?.message ?? err) })
      }
    }
    return
  }
  throw new Error('usage: node read.mjs iceberg NAME=TABLE_URL... | duckdb FILE VIEW... | duckdb-views FILE')
}

main(process.argv.slice(2)).catch(err => {
  process.stderr.write(`read.mjs: ${err?.stack ?? err}\n`)
  process.exit(2)
})
