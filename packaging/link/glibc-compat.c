/* The functions of glibc that the release build uses and that have no version at or below glibc 2.31
 * (packaging/README.md, "glibc 2.31"): defined here, hidden, so that the binary binds no newer symbol.
 * glibc-compat.py writes trampolines for the rest. And what the binary does instead of DT_RELR, which needs
 * glibc 2.36 (at the end). */
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HIDDEN __attribute__((visibility("hidden")))

/* Before 2.33, stat and its kin were inline wrappers over __xstat and friends, which newer glibc still has. */
extern int rc_xstat(int, const char *, struct stat *);
extern int rc_lxstat(int, const char *, struct stat *);
extern int rc_fxstat(int, int, struct stat *);
extern int rc_fxstatat(int, int, const char *, struct stat *, int);
__asm__(".symver rc_xstat, __xstat@GLIBC_2.2.5");
__asm__(".symver rc_lxstat, __lxstat@GLIBC_2.2.5");
__asm__(".symver rc_fxstat, __fxstat@GLIBC_2.2.5");
__asm__(".symver rc_fxstatat, __fxstatat@GLIBC_2.4");

HIDDEN int stat(const char *path, struct stat *buf) { return rc_xstat(1, path, buf); }
HIDDEN int lstat(const char *path, struct stat *buf) { return rc_lxstat(1, path, buf); }
HIDDEN int fstat(int fd, struct stat *buf) { return rc_fxstat(1, fd, buf); }
HIDDEN int fstatat(int dirfd, const char *path, struct stat *buf, int flags) { return rc_fxstatat(1, dirfd, path, buf, flags); }

/* Read by libstdc++ to skip atomic operations in a single-threaded process (glibc 2.32). Zero says "maybe
 * threaded": always atomic, which is always correct. */
HIDDEN char __libc_single_threaded = 0;

/* Program start. Since glibc 2.34, crt1.o passes no init function to __libc_start_main, which then runs the
 * program's constructors itself; glibc 2.31's __libc_start_main runs only the init function it is given (before
 * 2.34, crt1.o passed __libc_csu_init from libc_nonshared.a). Without one, no constructor runs: the Swift runtime
 * never registers the binary's metadata. So this passes the equivalent of __libc_csu_init, which every glibc
 * calls (the dynamic loader runs the preinit array). */
typedef void (*rc_init_function)(int, char **, char **);
extern int rc_libc_start_main(int (*)(int, char **, char **), int, char **, rc_init_function, void (*)(void),
                              void (*)(void), void *);
__asm__(".symver rc_libc_start_main, __libc_start_main@GLIBC_2.2.5");
extern rc_init_function __init_array_start[] __attribute__((visibility("hidden")));
extern rc_init_function __init_array_end[] __attribute__((visibility("hidden")));
extern void _init(void);

static void rc_csu_init(int argc, char **argv, char **envp) {
    _init();
    for (rc_init_function *f = __init_array_start; f < __init_array_end; f++) (*f)(argc, argv, envp);
}

HIDDEN int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, rc_init_function init,
                             void (*fini)(void), void (*rtld_fini)(void), void *stack_end) {
    return rc_libc_start_main(main, argc, argv, init ? init : rc_csu_init, fini, rtld_fini, stack_end);
}

/* Relocations. Without DT_RELR (glibc 2.36) the loader reads the binary's relative relocations at start, about
 * 2.7 MB of .rela.dyn, and nothing reads them again; their pages would stay mapped for the daemon's lifetime.
 * Once the loader is done (constructors run after relocation), this unmaps the pages that hold only relocations:
 * they are clean pages of the file, so the kernel may reclaim them, and touching one again would read it back. */
extern ElfW(Dyn) _DYNAMIC[] __attribute__((visibility("hidden")));
extern const char __ehdr_start __attribute__((visibility("hidden")));

__attribute__((constructor)) static void rc_drop_relocations(void) {
    ElfW(Addr) start = 0, size = 0;
    for (const ElfW(Dyn) *d = _DYNAMIC; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_RELA) start = d->d_un.d_ptr;
        if (d->d_tag == DT_RELASZ) size = d->d_un.d_val;
    }
    ElfW(Addr) base = (ElfW(Addr))&__ehdr_start;
    if (start == 0 || size == 0) return;
    if (start < base) start += base; /* the loader did not relocate the dynamic section in place */
    ElfW(Addr) page = (ElfW(Addr))sysconf(_SC_PAGESIZE);
    ElfW(Addr) first = (start + page - 1) & ~(page - 1), end = (start + size) & ~(page - 1);
    if (end > first) madvise((void *)first, end - first, MADV_DONTNEED);
}
