// Adds platform stubs to package-lock.json for optional native packages that the registry
// reachable from our machines does not serve (other OSes and CPUs).
//
// Why: `npm install` silently leaves such packages out of the lockfile when the registry
// answers 404, and `npm ci` then rejects the lockfile as out of sync. A stub that carries the
// package's `os`/`cpu`/`libc` lets `npm ci` validate the tree and skip the package on every
// platform it does not fit — which is all of them here. Run after any `npm install`:
//   node scripts/lock-stubs.mjs
/* global console, process, URL */
import { readFileSync, writeFileSync } from "node:fs"

const lockPath = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(readFileSync(lockPath, "utf8"))
const packages = lock.packages

const OS = [
  "android",
  "darwin",
  "freebsd",
  "linux",
  "openbsd",
  "openharmony",
  "win32",
  "netbsd",
  "sunos",
  "aix"
]
const CPU = {
  arm64: "arm64",
  x64: "x64",
  ia32: "ia32",
  arm: "arm",
  loong64: "loong64",
  ppc64: "ppc64",
  riscv64: "riscv64",
  s390x: "s390x"
}

/** Reads `os`, `cpu` and `libc` from a platform package name such as `rollup-linux-x64-musl`. */
const platformOf = (name) => {
  const tokens = name.split("/").pop().split("-")
  const os = tokens.find((t) => OS.includes(t))
  const cpu = tokens.map((t) => CPU[t]).find(Boolean)
  const libc = tokens.includes("musl") || tokens.includes("musleabihf")
    ? "musl"
    : tokens.includes("gnu") || tokens.includes("gnueabihf")
    ? "glibc"
    : undefined
  return os && cpu ? { os, cpu, libc } : undefined
}

let added = 0
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path === "" ? "" : `${path}/`
    const candidates = [`${base}node_modules/${dep}`, `node_modules/${dep}`]
    if (candidates.some((p) => p in packages)) continue
    const platform = platformOf(dep)
    if (platform === undefined) continue // not a platform package (e.g. fsevents is listed elsewhere)
    packages[`node_modules/${dep}`] = {
      version: version.replace(/^[~^]/, ""),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [platform.os],
      cpu: [platform.cpu],
      ...(platform.libc ? { libc: [platform.libc] } : {})
    }
    added++
  }
}
if (process.argv.includes("--check")) {
  if (added > 0) {
    console.error(
      `lock-stubs: package-lock.json lacks ${added} platform stub(s); run node scripts/lock-stubs.mjs`
    )
    process.exit(1)
  }
  console.log("lock-stubs: package-lock.json has every platform stub")
  process.exit(0)
}
// keep keys sorted like npm writes them
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b)))
)
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n")
console.log(`lock-stubs: added ${added} platform stub(s)`)
