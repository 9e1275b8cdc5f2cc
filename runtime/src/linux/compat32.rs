//! The system calls of ILP32 guests (32-bit PowerPC), in one place.
//!
//! An ILP32 guest's registers hold 32-bit values, its `long`s and pointers are 32 bits,
//! and a 64-bit argument takes an aligned register pair (high word first, so that a
//! pair starts at an odd argument register: r3/r4 are skipped where needed). Calls are
//! sorted into three kinds:
//!
//! - calls whose arguments and structures are the same as for a 64-bit guest (or
//!   which the shared layer already handles word by word: iovecs, signal sets,
//!   sigaction, stack_t, siginfo, argv): forwarded to the shared dispatcher, under
//!   their 64-bit name where the ILP32 call is its twin (`clock_gettime64`,
//!   `futex_time64`, `fcntl64`...);
//! - calls with 64-bit arguments in register pairs or 32-bit structures (`mmap2`,
//!   `pread64`, `wait4`'s rusage, `sysinfo`, `stat64`...): converted here, structures
//!   through the field tables of [`endian`] ([`endian::narrow`], [`endian::widen`]);
//! - everything else: ENOSYS (which `--strace` and the unknown-call report show),
//!   never a 64-bit layout written into 32-bit memory.

use super::endian::{self, W4};
use super::{bsys, host, hsys, legacy, signal, Out, Thread, R};
use crate::linux::arch::LinuxArch;

/// Calls forwarded unchanged (see the module docs).
const SAME: &[&str] = &[
    "read",
    "write",
    "readv",
    "writev",
    "close",
    "openat",
    "dup",
    "dup2",
    "dup3",
    "pipe2",
    "_llseek",
    "ioctl",
    "getdents64",
    "copy_file_range",
    "readlinkat",
    "faccessat",
    "faccessat2",
    "unlinkat",
    "mkdirat",
    "mknodat",
    "renameat",
    "renameat2",
    "linkat",
    "symlinkat",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchownat",
    "chdir",
    "fchdir",
    "getcwd",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
    "flock",
    "umask",
    "poll",
    "alarm",
    "statx",
    "epoll_create1",
    "epoll_ctl",
    "eventfd2",
    "socket",
    "socketpair",
    "bind",
    "connect",
    "listen",
    "shutdown",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "sendto",
    "recvfrom",
    "setsockopt",
    "getsockopt",
    "brk",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "mincore",
    "msync",
    "mlock",
    "munlock",
    "mlockall",
    "munlockall",
    "mlock2",
    "membarrier",
    "exit",
    "exit_group",
    "getpid",
    "getppid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "getpgid",
    "setpgid",
    "getsid",
    "setsid",
    "kill",
    "tkill",
    "tgkill",
    "set_tid_address",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "clone",
    "clone3",
    "execve",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getscheduler",
    "sched_getparam",
    "getpriority",
    "setpriority",
    "prlimit64",
    "prctl",
    "uname",
    "getrandom",
    "personality",
    "getcpu",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigpending",
    "rt_sigsuspend",
    "pause",
    "sigaltstack",
    "rt_sigreturn",
    "sigreturn",
    "swapcontext",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "epoll_pwait",
];

/// ILP32 calls that are their 64-bit twin under another name (the `*_time64` calls
/// take the 64-bit `struct __kernel_timespec`; `fcntl64`'s `struct flock64` has the
/// 64-bit layout, 8-byte aligned on 32-bit PowerPC too).
fn twin(name: &str) -> Option<&'static str> {
    Some(match name {
        "clock_gettime64" => "clock_gettime",
        "clock_getres_time64" => "clock_getres",
        "clock_nanosleep_time64" => "clock_nanosleep",
        "futex_time64" => "futex",
        "ppoll_time64" => "ppoll",
        "pselect6_time64" => "pselect6",
        "utimensat_time64" => "utimensat",
        "rt_sigtimedwait_time64" => "rt_sigtimedwait",
        "sendfile64" => "sendfile",
        _ => return None,
    })
}

/// A 64-bit argument from a register pair (high word first).
fn pair(hi: u64, lo: u64) -> u64 {
    (hi & 0xffff_ffff) << 32 | (lo & 0xffff_ffff)
}

const RLIM32_INFINITY: u64 = 0xffff_ffff;

impl<A: LinuxArch> Thread<A> {
    /// Handle an ILP32 guest's call `name` (see the module docs).
    pub(super) fn dispatch32(&mut self, name: &str, a: [u64; 6]) -> R {
        use libc::*;
        let fd = a[0] as i32 as i64;
        let be = self.be();
        if let Some(n) = twin(name) {
            return self.dispatch(n, a);
        }
        match name {
            // ---- word-sized msghdr and control messages (the shared layer's) ----
            "sendmsg" | "recvmsg" => self.msg(name == "recvmsg", fd, a[1], a[2] as i32),
            "sendmmsg" => self.dispatch(name, a),
            // recvmmsg's timeout is the old 32-bit timespec, recvmmsg_time64's the
            // 64-bit one.
            "recvmmsg" | "recvmmsg_time64" => {
                let width = if name == "recvmmsg" { 4 } else { 8 };
                self.mmsg(true, fd, a[1], a[2], a[3] as i32, (a[4] != 0).then_some((a[4], width)))
            }
            // ---- socketcall(call, args): the socket calls with their arguments in a
            // block of 32-bit words (net/socket.c's nargs) ----
            "socketcall" => {
                const CALLS: [(&str, u64); 20] = [
                    ("socket", 3),
                    ("bind", 3),
                    ("connect", 3),
                    ("listen", 2),
                    ("accept", 3),
                    ("getsockname", 3),
                    ("getpeername", 3),
                    ("socketpair", 4),
                    ("send", 4),
                    ("recv", 4),
                    ("sendto", 6),
                    ("recvfrom", 6),
                    ("shutdown", 2),
                    ("setsockopt", 5),
                    ("getsockopt", 5),
                    ("sendmsg", 3),
                    ("recvmsg", 3),
                    ("accept4", 4),
                    ("recvmmsg", 5),
                    ("sendmmsg", 4),
                ];
                let call = a[0] as u32 as usize;
                let Some(&(call_name, n)) = call.checked_sub(1).and_then(|i| CALLS.get(i)) else {
                    return Err(EINVAL as i64);
                };
                let mut args = [0u64; 6];
                for (i, arg) in args.iter_mut().enumerate().take(n as usize) {
                    *arg = self.read_u32(a[1] + 4 * i as u64)? as u64;
                }
                self.dispatch32(call_name, args)
            }
            // ---- SO_RCVTIMEO_OLD / SO_SNDTIMEO_OLD: a 32-bit struct timeval (Linux's
            // sock_set_timeout/sock_get_timeout for compat tasks); the _NEW options'
            // 64-bit one is the host's and goes to the shared code ----
            "setsockopt" if self.timeval_option(a[1], a[2]) => {
                if (a[4] as u32) < 8 {
                    return Err(EINVAL as i64);
                }
                let h = self.widened(a[3], endian::LONGS2)?;
                let opt = self.socket_option(SOL_SOCKET, a[2] as i32);
                hsys!(SYS_setsockopt, fd, SOL_SOCKET, opt, h.as_ptr(), h.len() as u32)
            }
            "getsockopt" if self.timeval_option(a[1], a[2]) => {
                let len = self.read_u32(a[4])? as i32;
                if len < 0 {
                    return Err(EINVAL as i64);
                }
                let mut h = [0u8; 16];
                let mut hl = h.len() as u32;
                let opt = self.socket_option(SOL_SOCKET, a[2] as i32);
                hsys!(SYS_getsockopt, fd, SOL_SOCKET, opt, h.as_mut_ptr(), &mut hl as *mut u32)?;
                let g = endian::narrow(&h, endian::LONGS2, be);
                let n = (len as usize).min(g.len());
                self.write_out(a[3], &g[..n])?;
                self.put_u32(a[4], n as u32)?;
                Ok(Out::Val(0))
            }
            // ---- 64-bit arguments in register pairs ----
            "mmap" => self.mmap(a),
            "mmap2" => self.mmap([a[0], a[1], a[2], a[3], a[4], a[5] << 12]),
            "lseek" => hsys!(SYS_lseek, fd, a[1] as i32 as i64, a[2] as i32),
            "pread64" | "pwrite64" => self.dispatch(name, [a[0], a[1], a[2], pair(a[4], a[5]), 0, 0]),
            "preadv" | "pwritev" => self.dispatch(name, [a[0], a[1], a[2], pair(a[4], a[3]), 0, 0]),
            "ftruncate64" => self.dispatch("ftruncate", [a[0], pair(a[2], a[3]), 0, 0, 0, 0]),
            "truncate64" => self.dispatch("truncate", [a[0], pair(a[2], a[3]), 0, 0, 0, 0]),
            "ftruncate" => hsys!(SYS_ftruncate, fd, a[1] as i32 as i64),
            "fallocate" => self.dispatch(name, [a[0], a[1], pair(a[2], a[3]), pair(a[4], a[5]), 0, 0]),
            // ppc32's fadvise64_64: fd, advice, offset, len; fadvise64: fd, (pad),
            // offset, len (32 bits), advice.
            "fadvise64_64" => self.dispatch("fadvise64", [a[0], pair(a[2], a[3]), pair(a[4], a[5]), a[1], 0, 0]),
            "fadvise64" => self.dispatch("fadvise64", [a[0], pair(a[2], a[3]), a[4], a[5], 0, 0]),
            "readahead" => hsys!(SYS_readahead, fd, pair(a[2], a[3]) as i64, a[4]),
            // ppc32's sync_file_range2: fd, flags, offset, nbytes.
            "sync_file_range2" => {
                hsys!(SYS_sync_file_range, fd, pair(a[2], a[3]) as i64, pair(a[4], a[5]) as i64, a[1] as u32)
            }
            "fcntl64" | "fcntl" => {
                // F_GETLK64, F_SETLK64, F_SETLKW64 (struct flock64) are 12..14 on
                // 32-bit PowerPC; F_GETLK, F_SETLK, F_SETLKW (5..7) take the 32-bit
                // struct flock.
                let cmd = match (name, a[1]) {
                    ("fcntl64", 12..=14) => a[1] - 7,
                    (_, 5..=7) => return self.flock32(fd, a[1] as i32, a[2]),
                    _ => a[1],
                };
                self.fcntl([a[0], cmd, a[2], 0, 0, 0])
            }

            // ---- struct stat (the 32-bit compat_stat, 72 bytes) ----
            "stat" => self.stat32(AT_FDCWD as i64, Some(a[0]), 0, a[1]),
            "lstat" => self.stat32(AT_FDCWD as i64, Some(a[0]), AT_SYMLINK_NOFOLLOW as u64, a[1]),
            "fstat" => self.stat32(fd, None, AT_EMPTY_PATH as u64, a[1]),
            // ---- struct statfs (compat_statfs: 32-bit fields) ----
            "statfs" | "fstatfs" => {
                const N: u64 = endian::guest_size(endian::STATFS32) as u64;
                self.ptr(a[1], N, true)?;
                let mut h = [0u8; 120];
                if name == "statfs" {
                    let p = self.path(a[0])?;
                    hsys!(SYS_statfs, p.as_ptr(), h.as_mut_ptr())?;
                } else {
                    hsys!(SYS_fstatfs, fd, h.as_mut_ptr())?;
                }
                // put_compat_statfs: EOVERFLOW for sizes and block counts past 32
                // bits, and file counts too unless they are -1 (unknown).
                let field = |i: usize| u64::from_le_bytes(h[8 * i..8 * i + 8].try_into().unwrap_or_default());
                let (bsize, blocks, bfree, bavail, files, ffree, frsize) =
                    (field(1), field(2), field(3), field(4), field(5), field(6), field(9));
                let wide = |v: u64| v >> 32 != 0;
                if wide(blocks | bfree | bavail | bsize | frsize)
                    || files != u64::MAX && wide(files)
                    || ffree != u64::MAX && wide(ffree)
                {
                    return Err(EOVERFLOW as i64);
                }
                self.write_out(a[1], &endian::narrow(&h, endian::STATFS32, be))?;
                Ok(Out::Val(0))
            }
            // ---- struct stat64 ----
            "fstat64" => self.stat_common(fd, None, AT_EMPTY_PATH as u64, a[1]),
            "stat64" => self.stat_common(AT_FDCWD as i64, Some(a[0]), 0, a[1]),
            "lstat64" => self.stat_common(AT_FDCWD as i64, Some(a[0]), AT_SYMLINK_NOFOLLOW as u64, a[1]),
            "fstatat64" => self.stat_common(fd, Some(a[1]), a[3], a[2]),
            "statfs64" | "fstatfs64" => {
                const N: usize = endian::guest_size(endian::STATFS64_32);
                if a[1] != N as u64 {
                    return Err(EINVAL as i64);
                }
                self.ptr(a[2], N as u64, true)?;
                let mut h = [0u8; 120];
                if name == "statfs64" {
                    let p = self.path(a[0])?;
                    hsys!(SYS_statfs, p.as_ptr(), h.as_mut_ptr())?;
                } else {
                    hsys!(SYS_fstatfs, fd, h.as_mut_ptr())?;
                }
                self.write_out(a[2], &endian::narrow(&h, endian::STATFS64_32, be))?;
                Ok(Out::Val(0))
            }

            // ---- structures of longs ----
            "wait4" | "waitpid" => {
                let (pid, st, opt, ru) = (a[0] as i32, a[1], a[2] as i32, if name == "wait4" { a[3] } else { 0 });
                let stp = self.ptr_opt(st, 4, true)?;
                self.ptr_opt(ru, endian::guest_size(endian::RUSAGE32) as u64, true)?;
                let mut h = [0u8; 144];
                let hp = if ru == 0 { std::ptr::null_mut() } else { h.as_mut_ptr() };
                let r = bsys!(self, SYS_wait4, pid, stp, opt, hp)?;
                if matches!(r, Out::Val(pid) if pid > 0) {
                    self.swap_guest(st, 4, W4);
                    if ru != 0 {
                        self.write_out(ru, &endian::narrow(&h, endian::RUSAGE32, be))?;
                    }
                }
                Ok(r)
            }
            "waitid" => {
                // The rusage (a[4]) is the 32-bit one; the siginfo is converted by the
                // shared code.
                self.ptr_opt(a[4], endian::guest_size(endian::RUSAGE32) as u64, true)?;
                let info = self.ptr_opt(a[2], 128, true)?;
                let mut h = [0u8; 144];
                let hp = if a[4] == 0 { std::ptr::null_mut() } else { h.as_mut_ptr() };
                let r = bsys!(self, SYS_waitid, a[0] as i32, a[1] as i32, info, a[3] as i32, hp)?;
                if a[2] != 0 {
                    let mut raw = [0u8; 128];
                    self.proc.mem.read_bytes(a[2], &mut raw).map_err(|_| EFAULT as i64)?;
                    let si = signal::SigInfo::from_host_bytes(raw);
                    self.write_out(a[2], &self.proc.arch.siginfo_bytes(&si))?;
                }
                if a[4] != 0 {
                    self.write_out(a[4], &endian::narrow(&h, endian::RUSAGE32, be))?;
                }
                Ok(r)
            }
            "getrusage" => {
                self.ptr(a[1], endian::guest_size(endian::RUSAGE32) as u64, true)?;
                let mut h = [0u8; 144];
                hsys!(SYS_getrusage, a[0] as i32, h.as_mut_ptr())?;
                self.write_out(a[1], &endian::narrow(&h, endian::RUSAGE32, be))?;
                Ok(Out::Val(0))
            }
            "sysinfo" => {
                self.ptr(a[0], endian::guest_size(endian::SYSINFO32) as u64, true)?;
                let mut h = [0u8; 112];
                hsys!(SYS_sysinfo, h.as_mut_ptr())?;
                self.write_out(a[0], &endian::narrow(&h, endian::SYSINFO32, be))?;
                Ok(Out::Val(0))
            }
            "times" => {
                self.ptr_opt(a[0], 16, true)?;
                let mut h = [0u8; 32];
                let r = hsys!(SYS_times, h.as_mut_ptr())?;
                if a[0] != 0 {
                    self.write_out(a[0], &endian::narrow(&h, endian::LONGS4, be))?;
                }
                match r {
                    Out::Val(t) => Ok(Out::Val(t as u32 as i32 as i64)),
                    r => Ok(r),
                }
            }
            "time" => {
                let t = hsys!(SYS_time, 0)?;
                let Out::Val(t) = t else { unreachable!() };
                if a[0] != 0 {
                    self.put_u32(a[0], t as u32)?;
                }
                Ok(Out::Val(t as u32 as i32 as i64))
            }
            "gettimeofday" => {
                self.ptr_opt(a[0], 8, true)?;
                let z = self.ptr_opt(a[1], 8, true)?;
                let mut h = [0u8; 16];
                hsys!(SYS_gettimeofday, h.as_mut_ptr(), z)?;
                if a[0] != 0 {
                    self.write_out(a[0], &endian::narrow(&h, endian::LONGS2, be))?;
                }
                self.swap_guest(a[1], 8, W4);
                Ok(Out::Val(0))
            }
            "clock_gettime" | "clock_getres" => {
                self.ptr_opt(a[1], 8, true)?;
                let mut h = [0u8; 16];
                let nr = if name == "clock_gettime" { SYS_clock_gettime } else { SYS_clock_getres };
                hsys!(nr, a[0] as i32, h.as_mut_ptr())?;
                if a[1] != 0 {
                    self.write_out(a[1], &endian::narrow(&h, endian::LONGS2, be))?;
                }
                Ok(Out::Val(0))
            }
            "nanosleep" => {
                let t = self.widened(a[0], endian::LONGS2)?;
                self.ptr_opt(a[1], 8, true)?;
                let mut rem = [0u8; 16];
                let res = bsys!(self, SYS_nanosleep, t.as_ptr(), rem.as_mut_ptr());
                if matches!(res, Err(e) if e == EINTR as i64) && a[1] != 0 {
                    self.write_out(a[1], &endian::narrow(&rem, endian::LONGS2, be))?;
                }
                res
            }
            "setitimer" | "getitimer" => {
                let new =
                    if name == "setitimer" && a[1] != 0 { Some(self.widened(a[1], endian::LONGS4)?) } else { None };
                let out = if name == "setitimer" { a[2] } else { a[1] };
                self.ptr_opt(out, 16, true)?;
                let mut old = [0u8; 32];
                if let Some(new) = new {
                    hsys!(SYS_setitimer, a[0] as i32, new.as_ptr(), old.as_mut_ptr())?;
                } else if name == "setitimer" {
                    return Err(EFAULT as i64);
                } else {
                    hsys!(SYS_getitimer, a[0] as i32, old.as_mut_ptr())?;
                }
                if out != 0 {
                    self.write_out(out, &endian::narrow(&old, endian::LONGS4, be))?;
                }
                Ok(Out::Val(0))
            }
            "ugetrlimit" | "getrlimit" => {
                self.ptr(a[1], 8, true)?;
                let mut h = [0u64; 2];
                hsys!(SYS_prlimit64, 0, a[0] as i32, std::ptr::null::<u64>(), h.as_mut_ptr())?;
                for (i, v) in h.iter().enumerate() {
                    self.put_u32(a[1] + 4 * i as u64, (*v).min(RLIM32_INFINITY) as u32)?;
                }
                Ok(Out::Val(0))
            }
            "setrlimit" => {
                let widen = |v: u32| if v as u64 == RLIM32_INFINITY { u64::MAX } else { v as u64 };
                let h = [widen(self.read_u32(a[1])?), widen(self.read_u32(a[1] + 4)?)];
                hsys!(SYS_prlimit64, 0, a[0] as i32, h.as_ptr(), std::ptr::null_mut::<u64>())
            }
            // Calls on the old 32-bit timespec (glibc uses them when the time fits):
            // their 64-bit twins on a widened copy.
            "futex" => {
                let timed = matches!(
                    a[1] as i32 & FUTEX_CMD_MASK,
                    FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_WAIT_REQUEUE_PI
                );
                if timed {
                    self.with_timespec32("futex", a, 3, 1, None)
                } else {
                    self.dispatch("futex", a)
                }
            }
            "ppoll" => self.with_timespec32("ppoll", a, 2, 1, None),
            "pselect6" => self.with_timespec32("pselect6", a, 4, 1, None),
            "rt_sigtimedwait" => self.with_timespec32("rt_sigtimedwait", a, 2, 1, None),
            "utimensat" => self.with_timespec32("utimensat", a, 2, 2, None),
            "clock_nanosleep" => self.with_timespec32("clock_nanosleep", a, 2, 1, Some(3)),

            // Calls whose older forms have 32-bit structures that are not converted.
            "newfstatat"
            | "sendfile"
            | "select"
            | "_newselect"
            | "ipc"
            | "sigaction"
            | "sigprocmask"
            | "sigsuspend"
            | "signal"
            | "getdents"
            | "readdir"
            | "utime"
            | "utimes"
            | "futimesat"
            | "timer_settime"
            | "timer_gettime"
            | "timerfd_settime"
            | "timerfd_gettime"
            | "io_getevents"
            | "mq_timedsend"
            | "mq_timedreceive"
            | "semtimedop"
            | "sched_rr_get_interval"
            | "adjtimex"
            | "clock_adjtime"
            | "settimeofday"
            | "clock_settime"
            | "stime" => Err(ENOSYS as i64),
            _ => {
                let (n, a) = legacy(name, a).unwrap_or((name, a));
                if SAME.contains(&n) {
                    self.dispatch(n, a)
                } else {
                    Err(ENOSYS as i64)
                }
            }
        }
    }

    /// Call `name` with the `n` 32-bit timespecs at argument `idx` widened to the
    /// host's 64-bit ones (and, with `out`, the 32-bit timespec that argument
    /// points at filled from the 64-bit remainder the call leaves on EINTR). The
    /// copies go in this thread's scratch page ([`Self::scratch_page`]), which nothing
    /// else uses while the thread is in a system call (signals are delivered after it).
    fn with_timespec32(&mut self, name: &str, mut a: [u64; 6], idx: usize, n: usize, out: Option<usize>) -> R {
        let be = self.be();
        let scratch = self.scratch_page()?;
        if a[idx] != 0 {
            let mut g = vec![0u8; 8 * n];
            self.proc.mem.read_bytes(a[idx], &mut g).map_err(|_| libc::EFAULT as i64)?;
            let mut wide: Vec<u8> = g.chunks(8).flat_map(|t| endian::widen(t, endian::LONGS2, be)).collect();
            if be {
                endian::swap_fields(&mut wide, endian::W8);
            }
            self.write_out(scratch, &wide)?;
            a[idx] = scratch;
        }
        let user_out = out.map(|o| (o, a[o]));
        if let Some((o, p)) = user_out {
            if p != 0 {
                self.ptr(p, 8, true)?;
                a[o] = scratch + 64;
            }
        }
        let r = self.dispatch(name, a);
        if let Some((_, p)) = user_out {
            if p != 0 && matches!(r, Err(e) if e == libc::EINTR as i64) {
                let mut wide = [0u8; 16];
                self.proc.mem.read_bytes(scratch + 64, &mut wide).map_err(|_| libc::EFAULT as i64)?;
                if be {
                    endian::swap_fields(&mut wide, endian::W8);
                }
                self.write_out(p, &endian::narrow(&wide, endian::LONGS2, be))?;
            }
        }
        r
    }

    /// Whether (level, option) is SOL_SOCKET's SO_RCVTIMEO_OLD or SO_SNDTIMEO_OLD in the
    /// guest's numbering: options on a 32-bit `struct timeval`.
    fn timeval_option(&self, level: u64, opt: u64) -> bool {
        level as i32 == libc::SOL_SOCKET
            && matches!(self.socket_option(libc::SOL_SOCKET, opt as i32), libc::SO_RCVTIMEO | libc::SO_SNDTIMEO)
    }

    /// F_GETLK, F_SETLK, F_SETLKW on the 32-bit `struct flock` (l_type, l_whence as
    /// shorts; l_start, l_len, l_pid as 32-bit values), as Linux's compat fcntl64:
    /// widened to the host's, and for F_GETLK narrowed back (EOVERFLOW when the lock
    /// found does not fit).
    fn flock32(&mut self, fd: i64, cmd: i32, at: u64) -> R {
        let be = self.be();
        let mut g = [0u8; 16];
        self.proc.mem.read_bytes(at, &mut g).map_err(|_| libc::EFAULT as i64)?;
        let i16_at =
            |o: usize| if be { i16::from_be_bytes([g[o], g[o + 1]]) } else { i16::from_le_bytes([g[o], g[o + 1]]) };
        let i32_at = |o: usize| endian::u32_from(be, &g[o..]) as i32;
        // SAFETY: libc::flock is plain data.
        let mut h: libc::flock = unsafe { std::mem::zeroed() };
        h.l_type = i16_at(0);
        h.l_whence = i16_at(2);
        h.l_start = i32_at(4) as i64;
        h.l_len = i32_at(8) as i64;
        h.l_pid = i32_at(12);
        let r = bsys!(self, libc::SYS_fcntl, fd, cmd, &mut h as *mut libc::flock)?;
        if cmd == libc::F_GETLK {
            const COMPAT_OFF_T_MAX: i64 = i32::MAX as i64;
            if h.l_start > COMPAT_OFF_T_MAX || h.l_len > COMPAT_OFF_T_MAX {
                return Err(libc::EOVERFLOW as i64);
            }
            let mut out = Vec::with_capacity(16);
            for v in [h.l_type, h.l_whence] {
                out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
            }
            for v in [h.l_start as u32, h.l_len as u32, h.l_pid as u32] {
                out.extend_from_slice(&endian::u32_bytes(be, v));
            }
            self.write_out(at, &out)?;
        }
        Ok(r)
    }

    /// stat, lstat, fstat: Linux's `cp_compat_stat` -- the 32-bit `struct stat`
    /// (st_dev, st_ino, st_mode 32 bits, st_nlink 16, st_uid, st_gid, st_rdev,
    /// st_size, st_blksize, st_blocks, then seconds and nanoseconds of the three
    /// times), EOVERFLOW when the inode, link count or size does not fit.
    fn stat32(&mut self, dirfd: i64, path: Option<u64>, flags: u64, out: u64) -> R {
        let be = self.be();
        // SAFETY: libc::stat is plain data.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let p = match path {
            Some(a) => self.path(a)?,
            None => std::ffi::CString::default(),
        };
        hsys!(libc::SYS_newfstatat, dirfd, p.as_ptr(), &mut st as *mut libc::stat, flags as i32)?;
        if st.st_ino > u32::MAX as u64 || st.st_nlink > u16::MAX as u64 || st.st_size > i32::MAX as i64 {
            return Err(libc::EOVERFLOW as i64);
        }
        let mut b = [0u8; 72];
        let mut put32 = |off: usize, v: u64| b[off..off + 4].copy_from_slice(&endian::u32_bytes(be, v as u32));
        put32(0, st.st_dev);
        put32(4, st.st_ino);
        put32(8, st.st_mode as u64);
        put32(16, st.st_uid as u64);
        put32(20, st.st_gid as u64);
        put32(24, st.st_rdev);
        put32(28, st.st_size as u64);
        put32(32, st.st_blksize as u64);
        put32(36, st.st_blocks as u64);
        put32(40, st.st_atime as u64);
        put32(44, st.st_atime_nsec as u64);
        put32(48, st.st_mtime as u64);
        put32(52, st.st_mtime_nsec as u64);
        put32(56, st.st_ctime as u64);
        put32(60, st.st_ctime_nsec as u64);
        let nlink = st.st_nlink as u16;
        b[12..14].copy_from_slice(&if be { nlink.to_be_bytes() } else { nlink.to_le_bytes() });
        self.write_out(out, &b)?;
        Ok(Out::Val(0))
    }

    /// This thread's page of guest memory for converted arguments, mapped on first use
    /// (and again if the guest unmapped it); unmapped when the thread ends.
    fn scratch_page(&mut self) -> Result<u64, i64> {
        use crate::usermem::{Placement, Prot, PAGE};
        if self.scratch == 0 || !self.proc.mem.accessible(self.scratch, PAGE, true) {
            self.scratch = self.proc.mem.map(Placement::Hint(0), PAGE, Prot::RW).map_err(|e| e.errno() as i64)?;
        }
        Ok(self.scratch)
    }

    /// A guest structure of 32-bit fields in the host's 64-bit layout.
    fn widened(&self, addr: u64, fields: &[(usize, usize)]) -> Result<Vec<u8>, i64> {
        let mut g = vec![0u8; endian::guest_size(fields)];
        self.proc.mem.read_bytes(addr, &mut g).map_err(|_| libc::EFAULT as i64)?;
        Ok(endian::widen(&g, fields, self.be()))
    }
}

/// The 32-bit PowerPC `struct stat64` (104 bytes) of a host `struct stat`.
pub fn stat64_ppc32(st: &libc::stat) -> [u8; 104] {
    let mut b = [0u8; 104];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(0, &st.st_dev.to_be_bytes());
    put(8, &st.st_ino.to_be_bytes());
    put(16, &st.st_mode.to_be_bytes());
    put(20, &(st.st_nlink as u32).to_be_bytes());
    put(24, &st.st_uid.to_be_bytes());
    put(28, &st.st_gid.to_be_bytes());
    put(32, &st.st_rdev.to_be_bytes());
    put(48, &st.st_size.to_be_bytes());
    put(56, &(st.st_blksize as i32).to_be_bytes());
    put(64, &st.st_blocks.to_be_bytes());
    put(72, &(st.st_atime as i32).to_be_bytes());
    put(76, &(st.st_atime_nsec as u32).to_be_bytes());
    put(80, &(st.st_mtime as i32).to_be_bytes());
    put(84, &(st.st_mtime_nsec as u32).to_be_bytes());
    put(88, &(st.st_ctime as i32).to_be_bytes());
    put(92, &(st.st_ctime_nsec as u32).to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_pairs_are_high_word_first() {
        assert_eq!(pair(0x1, 0x2345_6789), 0x1_2345_6789);
        // Registers may hold stale upper bits: only the low words count.
        assert_eq!(pair(0xffff_ffff_0000_0001, 0xffff_ffff_0000_0002), 0x1_0000_0002);
    }

    #[test]
    fn stat64_has_the_ppc32_layout() {
        // SAFETY: libc::stat is plain data.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        st.st_ino = 0x0102_0304_0506_0708;
        st.st_mode = 0o100644;
        st.st_size = 0x1_0000_0002;
        st.st_blksize = 4096;
        st.st_mtime = 1_234_567_890;
        st.st_mtime_nsec = 500;
        let b = stat64_ppc32(&st);
        assert_eq!(b[8..16], 0x0102_0304_0506_0708u64.to_be_bytes());
        assert_eq!(b[16..20], 0o100644u32.to_be_bytes());
        assert_eq!(b[48..56], 0x1_0000_0002u64.to_be_bytes());
        assert_eq!(b[56..60], 4096u32.to_be_bytes());
        assert_eq!(b[80..84], 1_234_567_890u32.to_be_bytes());
        assert_eq!(b[84..88], 500u32.to_be_bytes());
    }

    #[test]
    fn siginfo_has_the_ilp32_layout() {
        // SIGCHLD from the host: pid 7, uid 8, status 9, utime 10, stime 11.
        let mut h = [0u8; 128];
        for (o, v, w) in [(0, 17u64, 4), (8, 1, 4), (16, 7, 4), (20, 8, 4), (24, 9, 4), (32, 10, 8), (40, 11, 8)] {
            h[o..o + w].copy_from_slice(&v.to_le_bytes()[..w]);
        }
        let g = endian::siginfo_to_ilp32_be(&h, 17, 1);
        let at = |o: usize| u32::from_be_bytes(g[o..o + 4].try_into().unwrap());
        assert_eq!([at(0), at(8), at(12), at(16), at(20), at(24), at(28)], [17, 1, 7, 8, 9, 10, 11]);
        // A fault: si_addr right after the three ints.
        let mut h = [0u8; 128];
        h[0..4].copy_from_slice(&11u32.to_le_bytes());
        h[8..12].copy_from_slice(&2u32.to_le_bytes());
        h[16..24].copy_from_slice(&0x1234_5678u64.to_le_bytes());
        let g = endian::siginfo_to_ilp32_be(&h, 11, 2);
        assert_eq!(g[12..16], 0x1234_5678u32.to_be_bytes());
        // sigqueue from the guest: pid, uid, sigval back in the host's places.
        let mut g = [0u8; 128];
        for (o, v) in [(0, 10u32), (8, -1i32 as u32), (12, 5), (16, 6), (20, 77)] {
            g[o..o + 4].copy_from_slice(&v.to_be_bytes());
        }
        let h = endian::siginfo_from_ilp32_be(&g);
        let at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
        assert_eq!([at(0), at(8), at(16), at(20), at(24)], [10, -1i32 as u32, 5, 6, 77]);
    }
}
