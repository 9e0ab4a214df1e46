// The sysroot library: load a sysroot, deploy, stage and finalize, roll back,
// undeploy, pin, edit kernel arguments, clean up, render status.
export { Sysroot, type LoadOptions } from './sysroot';
export { type Deployment, deploymentId, isPinned, originRefspec, parseDeploymentRef } from './deployment';
export { initFs, osInit } from './init';
export { deploy, type DeployOptions, type DeployResult, type KargsOptions } from './deploy';
export { finalizeStaged } from './finalize-staged';
export { rollback, undeploy, pin, setKargs, type KargsEdit } from './change-list';
export { cleanup } from './cleanup';
export { writeDeployments } from './write-deployments';
export { sysrootStatus, renderStatus, type SysrootStatus, type DeploymentStatus } from './status';
export { configDiff, renderConfigDiff } from './config-diff';
