// The client use cases: plain async functions over a Sysroot, each taking
// { progress, signal } and returning a typed result. The daemon wraps each in a
// transaction; the local CLI (arbor admin upgrade|check|rebase|deploy-rev) calls them.
export { type OsOptions, type CommitInfo, originBase, baseDeployment } from './base';
export { upgrade, type UpgradeOptions, type UpgradeResult } from './upgrade';
export { check, type CheckResult } from './check';
export { deployRevision, findVersion, parseRevision, type DeployRevOptions, type DeployRevResult } from './deploy';
export { rebase, type RebaseOptions, type RebaseResult } from './rebase';
export { rollback, type RollbackResult } from './rollback';
export { cleanup, type CleanupOptions, type CleanupResult } from './cleanup';
export { kargs, type KargsOptions, type KargsResult } from './kargs';
export { pinDeployment, type PinOptions, type PinResult } from './pin';
export { diffPackages, renderPackageDiff, isEmptyDiff, type PackageDiff, type PackageChange } from './package-diff';
export { commitPackages, pkglistFromMetadata, type PackageList } from './package-list';
export { downloadSize, parseSizes, type DownloadSize } from './download-size';
