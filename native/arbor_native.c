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

/* linkObjects(objectsDir, destDir, names: string[], objects: string[], bareUser) -> Int32Array
 * Checkout's inner loop for one directory: hardlink each object ("ab/cdef….file",
 * relative to objectsDir) into destDir under its name, with *at() syscalls on two
 * directory fds instead of a full path walk per call. Per entry: 0 linked; 1 not
 * linked because the object is empty (ostree copies those); 2 not linked because a
 * bare-user object holds a symlink; otherwise -errno of the failing call (linkat's
 * EEXIST/EXDEV/EMLINK are left for the caller to handle). */
static napi_value js_link_objects(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *objdir = arg_string(env, argv[0]);
  char *destdir = objdir ? arg_string(env, argv[1]) : NULL;
  bool bare_user = false;
  napi_get_value_bool(env, argv[4], &bare_user);
  uint32_t n = 0, m = 0;
  napi_get_array_length(env, argv[2], &n);
  napi_get_array_length(env, argv[3], &m);
  if (!objdir || !destdir || n != m) {
    free(objdir); free(destdir);
    napi_throw_type_error(env, NULL, "linkObjects(objectsDir, destDir, names, objects, bareUser)");
    return NULL;
  }
  int ofd = open(objdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int dfd = ofd < 0 ? -1 : open(destdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ofd < 0 || dfd < 0) {
    int err = errno;
    throw_errno(env, err, "open", ofd < 0 ? objdir : destdir);
    if (ofd >= 0) close(ofd);
    free(objdir); free(destdir);
    return NULL;
  }
  napi_value ab, result;
  int32_t *out;
  napi_create_arraybuffer(env, n * sizeof(int32_t), (void **)&out, &ab);
  napi_create_typedarray(env, napi_int32_array, n, ab, 0, &result);
  char name[4096], rel[256], full[4400];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    size_t len;
    napi_get_element(env, argv[2], i, &v);
    napi_get_value_string_utf8(env, v, name, sizeof name, &len);
    napi_get_element(env, argv[3], i, &v);
    napi_get_value_string_utf8(env, v, rel, sizeof rel, &len);
    struct stat st;
    if (fstatat(ofd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) { out[i] = -errno; continue; }
    if (S_ISREG(st.st_mode) && st.st_size == 0) { out[i] = 1; continue; }
    if (bare_user) {
      unsigned char meta[64];
      snprintf(full, sizeof full, "%s/%s", objdir, rel);
      ssize_t r = lgetxattr(full, "user.ostreemeta", meta, sizeof meta);
      if (r < 0 && errno != ERANGE) { out[i] = -errno; continue; }
      /* (uuua(ayay)): the mode is the third big-endian u32; r < 0 (ERANGE) means
       * large xattrs follow, the mode is still in the first 12 bytes we got. */
      if (r >= 0 && r < 12) { out[i] = -EINVAL; continue; }
      uint32_t mode = ((uint32_t)meta[8] << 24) | ((uint32_t)meta[9] << 16) | ((uint32_t)meta[10] << 8) | meta[11];
      if (r < 0) {
        /* ERANGE leaves the buffer undefined: read the whole value. */
        ssize_t size = lgetxattr(full, "user.ostreemeta", NULL, 0);
        unsigned char *big = size >= 12 ? malloc(size) : NULL;
        if (!big || lgetxattr(full, "user.ostreemeta", big, size) < 12) { free(big); out[i] = -EINVAL; continue; }
        mode = ((uint32_t)big[8] << 24) | ((uint32_t)big[9] << 16) | ((uint32_t)big[10] << 8) | big[11];
        free(big);
      }
      if ((mode & S_IFMT) == S_IFLNK) { out[i] = 2; continue; }
    }
    out[i] = linkat(ofd, rel, dfd, name, 0) < 0 ? -errno : 0;
  }
  close(ofd); close(dfd);
  free(objdir); free(destdir);
  return result;
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
    { "linkObjects", NULL, js_link_objects, NULL, NULL, NULL, napi_default, NULL },
    { "lsize", NULL, js_lsize, NULL, NULL, NULL, napi_default, NULL },
    { "getInodeFlags", NULL, js_get_flags, NULL, NULL, NULL, napi_default, NULL },
    { "setInodeFlags", NULL, js_set_flags, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
