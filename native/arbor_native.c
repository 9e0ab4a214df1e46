/* Syscalls Node does not expose and Arbor needs on its hot paths: extended
 * attributes (bare-user metadata, SELinux labels), syncfs (one flush per repo
 * transaction, as libostree does), flock (repo lock) and inode flags (chattr +i).
 * Every function is synchronous and throws an Error whose `code` is the errno name. */
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

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
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
  napi_throw(env, e);
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

/* getxattr(pathOrFd, name) -> Buffer | null (null when the attribute is absent) */
static napi_value js_getxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target t; if (!get_target(env, argv[0], &t)) return NULL;
  char *name = arg_string(env, argv[1]);
  if (!name) { free(t.path); return NULL; }
  napi_value result = NULL;
  for (;;) {
    ssize_t n = t_get(&t, name, NULL, 0);
    if (n < 0) {
      if (errno == ENODATA) napi_get_null(env, &result);
      else throw_errno(env, errno, "getxattr", t.path);
      break;
    }
    void *data;
    napi_value buf;
    napi_create_buffer(env, n, &data, &buf);
    ssize_t m = t_get(&t, name, data, n);
    if (m < 0 && errno == ERANGE) continue; /* grew in between: retry */
    if (m < 0) { throw_errno(env, errno, "getxattr", t.path); break; }
    if (m < n) { napi_value sub; napi_create_buffer_copy(env, m, data, NULL, &sub); buf = sub; }
    result = buf;
    break;
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
    ssize_t vn = t_get(&t, name, NULL, 0);
    if (vn < 0) { if (errno == ENODATA) continue; throw_errno(env, errno, "getxattr", t.path); arr = NULL; break; }
    void *data; napi_value buf;
    napi_create_buffer(env, vn, &data, &buf);
    ssize_t m = vn ? t_get(&t, name, data, vn) : 0;
    if (m < 0) { throw_errno(env, errno, "getxattr", t.path); arr = NULL; break; }
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

/* syncfs(fd): flush the whole filesystem holding fd */
static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (syncfs(arg_int(env, argv[0])) < 0) throw_errno(env, errno, "syncfs", NULL);
  return NULL;
}

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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "getxattr", NULL, js_getxattr, NULL, NULL, NULL, napi_default, NULL },
    { "listxattrs", NULL, js_listxattrs, NULL, NULL, NULL, napi_default, NULL },
    { "setxattr", NULL, js_setxattr, NULL, NULL, NULL, napi_default, NULL },
    { "removexattr", NULL, js_removexattr, NULL, NULL, NULL, napi_default, NULL },
    { "syncfs", NULL, js_syncfs, NULL, NULL, NULL, napi_default, NULL },
    { "flock", NULL, js_flock, NULL, NULL, NULL, napi_default, NULL },
    { "funlock", NULL, js_funlock, NULL, NULL, NULL, napi_default, NULL },
    { "lsize", NULL, js_lsize, NULL, NULL, NULL, napi_default, NULL },
    { "getInodeFlags", NULL, js_get_flags, NULL, NULL, NULL, napi_default, NULL },
    { "setInodeFlags", NULL, js_set_flags, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
