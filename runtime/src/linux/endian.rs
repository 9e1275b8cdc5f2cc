//! Guest byte order: the runtime builds and reads guest structures in the guest's byte
//! order, and converts the ones the (little-endian) host kernel reads or writes in
//! guest memory directly. A structure is described by the widths of its fields in
//! order ([`swap_fields`] repeats the pattern to the end of the buffer, so an array of
//! structures, or of one scalar type, is its element's pattern).

/// Reverse the bytes of each field of `buf`, the field widths being `pattern` repeated
/// (1 leaves a byte alone; 0 leaves the rest alone). A trailing part shorter than its
/// field is left alone.
pub fn swap_fields(buf: &mut [u8], pattern: &[usize]) {
    let mut o = 0;
    'outer: loop {
        for &w in pattern {
            if w == 0 || o + w > buf.len() {
                break 'outer;
            }
            buf[o..o + w].reverse();
            o += w;
        }
        if pattern.is_empty() {
            break;
        }
    }
}

/// 64-bit scalars: timespec, timeval, rlimit, rusage, tms, itimerval, sigset, fd_set
/// and CPU masks (arrays of unsigned long), off_t.
pub const W8: &[usize] = &[8];
/// 32-bit scalars: int, uid_t, socklen_t, int[2] (pipe, socketpair).
pub const W4: &[usize] = &[4];
/// struct pollfd { int fd; short events, revents; }.
pub const POLLFD: &[usize] = &[4, 2, 2];
/// A socket address: sa_family (16 bits), then bytes in network order.
pub const SOCKADDR: &[usize] = &[2, 0];
/// struct stat of ppc64 (the x86-64 layout, 144 bytes).
pub const STAT64: &[usize] = &[8, 8, 8, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
/// struct sysinfo (64-bit, 112 bytes).
pub const SYSINFO: &[usize] = &[8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 2, 2, 4, 8, 8, 4, 4];
/// struct statfs (64-bit, 120 bytes).
pub const STATFS: &[usize] = &[8, 8, 8, 8, 8, 8, 8, 4, 4, 8, 8, 8, 8, 8, 8, 8];
/// struct statx (256 bytes).
pub const STATX: &[usize] = &[
    4, 4, 8, 4, 4, 4, 2, 2, 8, 8, 8, 8, 8, 4, 4, 8, 4, 4, 8, 4, 4, 8, 4, 4, 4, 4, 4, 4, 8, 4, 4, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8,
];
/// struct flock (64-bit, 32 bytes).
pub const FLOCK: &[usize] = &[2, 2, 4, 8, 8, 4, 4];

/// Convert a siginfo between host order and the other byte order (the same swaps go
/// either way); `signo` and `code` are its numbers (already known in host order).
pub fn swap_siginfo(raw: &mut [u8; 128], signo: i32, code: i32) {
    swap_fields(&mut raw[..16], W4);
    let rest = &mut raw[16..];
    match signo {
        // Faults from the kernel: si_addr.
        4 | 5 | 7 | 8 | 11 if code > 0 => swap_fields(&mut rest[..8], W8),
        // SIGCHLD: pid, uid, status, (pad), utime, stime.
        17 if code > 0 => swap_fields(&mut rest[..32], &[4, 4, 4, 4, 8, 8]),
        // SIGPOLL: band, fd.
        29 if code > 0 => swap_fields(&mut rest[..12], &[8, 4]),
        // kill, sigqueue, timers: pid/tid, uid/overrun, sigval.
        _ => swap_fields(&mut rest[..16], &[4, 4, 8]),
    }
}

/// The bytes of an integer in the guest's order.
pub fn u64_bytes(be: bool, v: u64) -> [u8; 8] {
    if be {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}
pub fn u32_bytes(be: bool, v: u32) -> [u8; 4] {
    if be {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}
pub fn u64_from(be: bool, b: &[u8]) -> u64 {
    let b: [u8; 8] = b[..8].try_into().unwrap();
    if be {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    }
}
pub fn u32_from(be: bool, b: &[u8]) -> u32 {
    let b: [u8; 4] = b[..4].try_into().unwrap();
    if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn patterns_cover_their_structs() {
        let sum = |p: &[usize]| p.iter().sum::<usize>();
        assert_eq!(sum(STAT64), 144);
        assert_eq!(sum(SYSINFO), 112);
        assert_eq!(sum(STATFS), 120);
        assert_eq!(sum(STATX), 256);
        assert_eq!(sum(FLOCK), 32);
        let mut b = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        swap_fields(&mut b, POLLFD);
        assert_eq!(b, [4, 3, 2, 1, 6, 5, 8, 7, 9, 10]);
    }
}
