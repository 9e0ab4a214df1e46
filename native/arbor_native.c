/* Syscalls Node does not expose and Arbor needs on its hot paths: extended
 * attributes (bare-user metadata, SELinux labels), syncfs (one flush per repo
 * transaction, as libostree does), flock (repo lock) and inode flags (chattr +i).
 * Every function but linkObjects and syncfsPath is synchronous; errors are Errors whose `code` is the errno name. */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

static napi_value errno_error(napi_env env, int err, const char *syscall, const char *path) {
  char msg[4200];
  const char *name = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s: %s%s%s", name ? name : "EUNKNOWN", strerror(err),
           path ? ", " : "", path ? path : "");
  napi_value m, code, e, sc, no;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, e, "syscall", sc);
  napi_create_int32(env, -err, &no);
  napi_set_named_property(env, e, "errno", no);
  napi_set_named_property(env, e, "code", code);
  if (path) {
    napi_value p;
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
    napi_set_named_property(env, e, "path", p);
  }
  return e;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  napi_throw(env, errno_error(env, err, syscall, path));
  return NULL;
}

/* Reads argument i as a string into a malloc'd buffer (caller frees). */
static char *arg_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* Target of an xattr call: a path (l* variants, never following symlinks) or an fd. */
typedef struct { char *path; int fd; } target;

static int get_target(napi_env env, napi_value v, target *t) {
  napi_valuetype ty;
  napi_typeof(env, v, &ty);
  t->path = NULL; t->fd = -1;
  if (ty == napi_number) { napi_get_value_int32(env, v, &t->fd); return 1; }
  t->path = arg_string(env, v);
  return t->path != NULL;
}

static ssize_t t_list(target *t, char *buf, size_t n) {
  return t->path ? llistxattr(t->path, buf, n) : flistxattr(t->fd, buf, n);
}
static ssize_t t_get(target *t, const char *name, void *buf, size_t n) {
  return t->path ? lgetxattr(t->path, name, buf, n) : fgetxattr(t->fd, name, buf, n);
}

/* getxattr(pathOrFd, name) -> Buffer | null (null when the attribute is absent).
 * One syscall in the common case: values are small (ostree metadata, SELinux labels),
 * so read into a stack buffer first and ask for the size only when it does not fit. */
static napi_value js_getxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target t; if (!get_target(env, argv[0], &t)) return NULL;
  char *name = arg_string(env, argv[1]);
  if (!name) { free(t.path); return NULL; }
  napi_value result = NULL;
  char small[1024];
  ssize_t n = t_get(&t, name, small, sizeof small);
  if (n >= 0) {
    napi_create_buffer_copy(env, n, small, NULL, &result);
  } else if (errno == ENODATA) {
    napi_get_null(env, &result);
  } else if (errno != ERANGE) {
    throw_errno(env, errno, "getxattr", t.path);
  } else {
    for (;;) {
      ssize_t size = t_get(&t, name, NULL, 0);
      if (size < 0) { throw_errno(env, errno, "getxattr", t.path); break; }
      void *data;
      napi_value buf;
      napi_create_buffer(env, size, &data, &buf);
      ssize_t m = t_get(&t, name, data, size);
      if (m < 0 && errno == ERANGE) continue; /* grew in between: retry */
      if (m < 0) { throw_errno(env, errno, "getxattr", t.path); break; }
      if (m < size) napi_create_buffer_copy(env, m, data, NULL, &buf);
      result = buf;
      break;
    }
  }
  free(name); free(t.path);
  return result;
}

/* listxattrs(pathOrFd) -> Array<[name, Buffer]> in the order the kernel lists them */
static napi_value js_listxattrs(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target t; if (!get_target(env, argv[0], &t)) return NULL;
  napi_value arr;
  napi_create_array(env, &arr);
  char stackbuf[1024], *names = stackbuf;
  ssize_t n = t_list(&t, stackbuf, sizeof stackbuf);
  while (n < 0 && errno == ERANGE) {
    ssize_t need = t_list(&t, NULL, 0);
    if (need < 0) break;
    if (names != stackbuf) free(names);
    names = malloc(need + 1);
    n = t_list(&t, names, need);
  }
  if (n < 0) {
    int err = errno;
    if (names != stackbuf) free(names);
    if (err == ENOTSUP) { free(t.path); return arr; }
    throw_errno(env, err, "listxattr", t.path);
    free(t.path);
    return NULL;
  }
  uint32_t idx = 0;
  for (ssize_t off = 0; off < n; ) {
    const char *name = names + off;
    size_t len = strlen(name);
    off += len + 1;
    char small[1024];
    napi_value buf;
    ssize_t vn = t_get(&t, name, small, sizeof small);
    if (vn >= 0) {
      napi_create_buffer_copy(env, vn, small, NULL, &buf);
    } else {
      if (errno == ENODATA) continue;
      if (errno != ERANGE) { throw_errno(env, errno, "getxattr", t.path); arr = NULL; break; }
      vn = t_get(&t, name, NULL, 0);
      if (vn < 0) { throw_errno(env, errno, "getxattr", t.path); arr = NULL; break; }
      void *data;
      napi_create_buffer(env, vn, &data, &buf);
      ssize_t m = vn ? t_get(&t, name, data, vn) : 0;
      if (m < 0) { throw_errno(env, errno, "getxattr", t.path); arr = NULL; break; }
    }
    napi_value pair, nm;
    napi_create_array_with_length(env, 2, &pair);
    napi_create_string_utf8(env, name, len, &nm);
    napi_set_element(env, pair, 0, nm);
    napi_set_element(env, pair, 1, buf);
    napi_set_element(env, arr, idx++, pair);
  }
  if (names != stackbuf) free(names);
  free(t.path);
  return arr;
}

/* setxattr(pathOrFd, name, value: Buffer) */
static napi_value js_setxattr(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target t; if (!get_target(env, argv[0], &t)) return NULL;
  char *name = arg_string(env, argv[1]);
  void *data = NULL; size_t len = 0;
  if (!name || napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) {
    free(name); free(t.path);
    napi_throw_type_error(env, NULL, "setxattr(target, name, Buffer)");
    return NULL;
  }
  int r = t.path ? lsetxattr(t.path, name, data, len, 0) : fsetxattr(t.fd, name, data, len, 0);
  if (r < 0) throw_errno(env, errno, "setxattr", t.path);
  free(name); free(t.path);
  return NULL;
}

/* removexattr(pathOrFd, name); absent attributes are not an error */
static napi_value js_removexattr(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target t; if (!get_target(env, argv[0], &t)) return NULL;
  char *name = arg_string(env, argv[1]);
  if (!name) { free(t.path); return NULL; }
  int r = t.path ? lremovexattr(t.path, name) : fremovexattr(t.fd, name);
  if (r < 0 && errno != ENODATA) throw_errno(env, errno, "removexattr", t.path);
  free(name); free(t.path);
  return NULL;
}

static int arg_int(napi_env env, napi_value v) { int32_t x = -1; napi_get_value_int32(env, v, &x); return x; }

/* flock(fd, exclusive, wait) -> boolean: false when !wait and the lock is held elsewhere */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool excl = false, wait = true;
  napi_get_value_bool(env, argv[1], &excl);
  napi_get_value_bool(env, argv[2], &wait);
  int op = (excl ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int r;
  do { r = flock(arg_int(env, argv[0]), op); } while (r < 0 && errno == EINTR);
  napi_value res;
  if (r < 0 && errno == EWOULDBLOCK && !wait) { napi_get_boolean(env, false, &res); return res; }
  if (r < 0) return throw_errno(env, errno, "flock", NULL);
  napi_get_boolean(env, true, &res);
  return res;
}

/* funlock(fd) */
static napi_value js_funlock(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (flock(arg_int(env, argv[0]), LOCK_UN) < 0) throw_errno(env, errno, "flock", NULL);
  return NULL;
}

/* getInodeFlags(fd) -> number; setInodeFlags(fd, flags) (FS_IOC_GETFLAGS / SETFLAGS, chattr) */
static napi_value js_get_flags(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int flags = 0;
  if (ioctl(arg_int(env, argv[0]), FS_IOC_GETFLAGS, &flags) < 0) return throw_errno(env, errno, "ioctl(FS_IOC_GETFLAGS)", NULL);
  napi_value res; napi_create_int32(env, flags, &res);
  return res;
}

static napi_value js_set_flags(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int flags = arg_int(env, argv[1]);
  if (ioctl(arg_int(env, argv[0]), FS_IOC_SETFLAGS, &flags) < 0) throw_errno(env, errno, "ioctl(FS_IOC_SETFLAGS)", NULL);
  return NULL;
}

/* lsize(path) -> st_size of the path itself (not following symlinks), or -1 when absent.
 * Hot loops need only the size; fs.lstatSync builds a whole Stats object per call. */
static napi_value js_lsize(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *p = arg_string(env, argv[0]);
  if (!p) return NULL;
  struct stat st;
  napi_value res = NULL;
  if (lstat(p, &st) == 0) napi_create_double(env, (double)st.st_size, &res);
  else if (errno == ENOENT) napi_create_int32(env, -1, &res);
  else throw_errno(env, errno, "lstat", p);
  free(p);
  return res;
}

/* Runs exec(job) on libuv's thread pool, then done(job) on the JS thread; returns the
 * promise that done settles through *deferred. */
static napi_value queue_job(napi_env env, const char *name, napi_async_execute_callback exec,
                            napi_async_complete_callback done, void *job, napi_async_work *work, napi_deferred *deferred) {
  napi_value promise, resource;
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, NULL, resource, exec, done, job, work);
  napi_queue_async_work(env, *work);
  return promise;
}

/* linkObjects(objectsDir, destDir, names0, objects0, count, bareUser, inline) -> Promise<Int32Array>
 * Checkout's inner loop for one directory, run on libuv's thread pool (unless inline)
 * so several directories link at once while JavaScript walks the tree: hardlink each object
 * ("ab/cdef….file", relative to objectsDir) into destDir under its name, with *at()
 * syscalls on two directory fds instead of a full path walk per call. names0 and
 * objects0 hold count NUL-terminated parts each (two strings cross into C, not 2 x count). Per entry: 0
 * linked; 1 not linked because the object is empty (ostree copies those); 2 not linked
 * because a bare-user object holds a symlink; 3 copied here instead (bare-user: see
 * make_symlink); otherwise -errno of the failing call (linkat's EEXIST/EXDEV/EMLINK are
 * left for the caller to handle). */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *objdir, *destdir;
  uint32_t n;
  char *names_buf, *rels_buf; /* NUL-separated parts; names/rels point into them */
  char **names, **rels;
  int32_t *out;
  bool bare_user;
  int open_err;
  const char *open_path;
} link_job;

static void link_job_free(link_job *j) {
  free(j->names_buf); free(j->rels_buf);
  free(j->names); free(j->rels); free(j->out);
  free(j->objdir); free(j->destdir);
  free(j);
}

/* The file mode a bare-user object records in user.ostreemeta ((uuua(ayay)): the third
 * big-endian u32), or -errno. */
static int64_t bare_user_mode(const char *full) {
  unsigned char meta[64];
  ssize_t r = lgetxattr(full, "user.ostreemeta", meta, sizeof meta);
  if (r < 0 && errno != ERANGE) return -errno;
  if (r >= 0 && r < 12) return -EINVAL;
  if (r >= 0) return ((uint32_t)meta[8] << 24) | ((uint32_t)meta[9] << 16) | ((uint32_t)meta[10] << 8) | meta[11];
  /* ERANGE (large xattrs follow) leaves the buffer undefined: read the whole value. */
  ssize_t size = lgetxattr(full, "user.ostreemeta", NULL, 0);
  unsigned char *big = size >= 12 ? malloc(size) : NULL;
  int64_t mode = -EINVAL;
  if (big && lgetxattr(full, "user.ostreemeta", big, size) >= 12)
    mode = ((uint32_t)big[8] << 24) | ((uint32_t)big[9] << 16) | ((uint32_t)big[10] << 8) | big[11];
  free(big);
  return mode;
}

/* A bare-user checkout is in user mode: a symlink object (its target, NUL-terminated, as
 * the file's content) becomes a symlink, an empty file a new empty file with the
 * object's permission bits (setuid/setgid dropped). On anything unusual (an odd
 * object, a name already taken in union mode) these return false and JavaScript
 * takes the entry through its general path, which explains errors. */
static bool make_symlink(int ofd, const char *rel, const struct stat *st, int dfd, const char *name) {
  char target[4097];
  if (!S_ISREG(st->st_mode) || st->st_size < 2 || st->st_size > (off_t)sizeof target) return false;
  int fd = openat(ofd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t r = read(fd, target, st->st_size);
  close(fd);
  if (r != st->st_size || target[r - 1] != 0 || memchr(target, 0, r - 1)) return false;
  return symlinkat(target, dfd, name) == 0;
}

static bool make_empty(int dfd, const char *name, mode_t mode) {
  int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = fchmod(fd, mode) == 0;
  close(fd);
  return ok;
}

static void link_execute(napi_env env, void *data) {
  (void)env;
  link_job *j = data;
  int ofd = open(j->objdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int dfd = ofd < 0 ? -1 : open(j->destdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ofd < 0 || dfd < 0) {
    j->open_err = errno;
    j->open_path = ofd < 0 ? j->objdir : j->destdir;
    if (ofd >= 0) close(ofd);
    return;
  }
  char full[4400];
  for (uint32_t i = 0; i < j->n; i++) {
    struct stat st;
    if (fstatat(ofd, j->rels[i], &st, AT_SYMLINK_NOFOLLOW) < 0) { j->out[i] = -errno; continue; }
    if (!j->bare_user) {
      j->out[i] = S_ISREG(st.st_mode) && st.st_size == 0 ? 1 : linkat(ofd, j->rels[i], dfd, j->names[i], 0) < 0 ? -errno : 0;
      continue;
    }
    snprintf(full, sizeof full, "%s/%s", j->objdir, j->rels[i]);
    int64_t mode = bare_user_mode(full);
    if (mode < 0) { j->out[i] = (int32_t)mode; continue; }
    if ((mode & S_IFMT) == S_IFLNK) j->out[i] = make_symlink(ofd, j->rels[i], &st, dfd, j->names[i]) ? 3 : 2;
    else if (st.st_size == 0) j->out[i] = make_empty(dfd, j->names[i], (mode_t)(mode & 01777)) ? 3 : 1;
    else j->out[i] = linkat(ofd, j->rels[i], dfd, j->names[i], 0) < 0 ? -errno : 0;
  }
  close(ofd); close(dfd);
}

static void link_complete(napi_env env, napi_status status, void *data) {
  link_job *j = data;
  if (status != napi_ok) {
    napi_value m, e;
    napi_create_string_utf8(env, "linkObjects: the job did not run", NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, NULL, m, &e);
    napi_reject_deferred(env, j->deferred, e);
  } else if (j->open_err) {
    napi_reject_deferred(env, j->deferred, errno_error(env, j->open_err, "open", j->open_path));
  } else {
    napi_value ab, result;
    void *buf;
    napi_create_arraybuffer(env, j->n * sizeof(int32_t), &buf, &ab);
    if (j->n) memcpy(buf, j->out, j->n * sizeof(int32_t));
    napi_create_typedarray(env, napi_int32_array, j->n, ab, 0, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  if (j->work) napi_delete_async_work(env, j->work);
  link_job_free(j);
}

/* Splits a string of n NUL-terminated parts (as JavaScript's join('\0') + '\0' makes it)
 * into pointers into it; false when the count does not match. */
static bool split_parts(char *s, size_t len, uint32_t n, char **parts) {
  uint32_t k = 0;
  for (size_t i = 0; i < len && k <= n; ) {
    if (k == n) return false;
    parts[k++] = s + i;
    i += strlen(s + i) + 1;
  }
  return k == n;
}

static napi_value js_link_objects(napi_env env, napi_callback_info info) {
  size_t argc = 7; napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n = 0;
  napi_get_value_uint32(env, argv[4], &n);
  link_job *j = calloc(1, sizeof *j);
  j->n = n;
  j->names = calloc(n ? n : 1, sizeof(char *));
  j->rels = calloc(n ? n : 1, sizeof(char *));
  j->out = calloc(n ? n : 1, sizeof(int32_t));
  j->objdir = arg_string(env, argv[0]);
  j->destdir = j->objdir ? arg_string(env, argv[1]) : NULL;
  j->names_buf = j->destdir ? arg_string(env, argv[2]) : NULL;
  j->rels_buf = j->names_buf ? arg_string(env, argv[3]) : NULL;
  napi_get_value_bool(env, argv[5], &j->bare_user);
  size_t nlen = 0, rlen = 0;
  if (j->rels_buf) {
    napi_get_value_string_utf8(env, argv[2], NULL, 0, &nlen);
    napi_get_value_string_utf8(env, argv[3], NULL, 0, &rlen);
  }
  if (!j->rels_buf || !split_parts(j->names_buf, nlen, n, j->names) || !split_parts(j->rels_buf, rlen, n, j->rels)) {
    bool pending = false;
    napi_value e;
    link_job_free(j);
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &e);
    napi_throw_type_error(env, NULL, "linkObjects(objectsDir, destDir, names0, objects0, count, bareUser): names0/objects0 hold count NUL-terminated parts");
    return NULL;
  }
  bool inline_ = false;
  napi_get_value_bool(env, argv[6], &inline_);
  if (!inline_) return queue_job(env, "arbor.linkObjects", link_execute, link_complete, j, &j->work, &j->deferred);
  /* A small directory: the thread-pool round trip would cost more than the links. */
  napi_value promise;
  napi_create_promise(env, &j->deferred, &promise);
  link_execute(env, j);
  link_complete(env, napi_ok, j);
  return promise;
}

/* syncfsPath(dir) -> Promise<void>: syncfs() of the filesystem holding dir, on the
 * thread pool, so a pull keeps fetching while an earlier checkpoint is flushed. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  int err;
  const char *syscall;
} syncfs_job;

static void syncfs_execute(napi_env env, void *data) {
  (void)env;
  syncfs_job *j = data;
  int fd = open(j->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) { j->err = errno; j->syscall = "open"; return; }
  if (syncfs(fd) < 0) { j->err = errno; j->syscall = "syncfs"; }
  close(fd);
}

static void syncfs_complete(napi_env env, napi_status status, void *data) {
  syncfs_job *j = data;
  if (status != napi_ok) j->err = EIO, j->syscall = "syncfs";
  if (j->err) napi_reject_deferred(env, j->deferred, errno_error(env, j->err, j->syscall, j->path));
  else {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, j->deferred, undef);
  }
  napi_delete_async_work(env, j->work);
  free(j->path);
  free(j);
}

static napi_value js_syncfs_path(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = arg_string(env, argv[0]);
  if (!path) return NULL;
  syncfs_job *j = calloc(1, sizeof *j);
  j->path = path;
  return queue_job(env, "arbor.syncfsPath", syncfs_execute, syncfs_complete, j, &j->work, &j->deferred);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "getxattr", NULL, js_getxattr, NULL, NULL, NULL, napi_default, NULL },
    { "listxattrs", NULL, js_listxattrs, NULL, NULL, NULL, napi_default, NULL },
    { "setxattr", NULL, js_setxattr, NULL, NULL, NULL, napi_default, NULL },
    { "removexattr", NULL, js_removexattr, NULL, NULL, NULL, napi_default, NULL },
    { "syncfsPath", NULL, js_syncfs_path, NULL, NULL, NULL, napi_default, NULL },
    { "flock", NULL, js_flock, NULL, NULL, NULL, napi_default, NULL },
    { "funlock", NULL, js_funlock, NULL, NULL, NULL, napi_default, NULL },
    { "linkObjects", NULL, js_link_objects, NULL, NULL, NULL, napi_default, NULL },
    { "lsize", NULL, js_lsize, NULL, NULL, NULL, napi_default, NULL },
    { "getInodeFlags", NULL, js_get_flags, NULL, NULL, NULL, napi_default, NULL },
    { "setInodeFlags", NULL, js_set_flags, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
