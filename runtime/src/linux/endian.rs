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

/// A signal set (the kernel's `unsigned long sig[]`, 64 signals) in guest memory:
/// one 64-bit word, or two 32-bit words (signals 1..32 first) for ILP32 guests.
pub fn sigset_bytes(be: bool, word: u64, mask: u64) -> [u8; 8] {
    if word == 8 {
        return u64_bytes(be, mask);
    }
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&u32_bytes(be, mask as u32));
    b[4..].copy_from_slice(&u32_bytes(be, (mask >> 32) as u32));
    b
}
/// The signal set in `b` (see [`sigset_bytes`]).
pub fn sigset_from(be: bool, word: u64, b: &[u8]) -> u64 {
    if word == 8 {
        return u64_from(be, b);
    }
    u32_from(be, b) as u64 | (u32_from(be, &b[4..]) as u64) << 32
}

/// Narrow a structure the (64-bit) host kernel wrote to its ILP32 guest layout:
/// `fields` gives each field as (host width, guest width); a host field is read as a
/// little-endian integer and its low guest-width bytes are stored in the guest's
/// order (width 0 on the host side: guest padding, zero; on the guest side: host
/// padding, skipped).
pub fn narrow(host: &[u8], fields: &[(usize, usize)], be: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.1).sum());
    let mut o = 0;
    for &(hw, gw) in fields {
        let mut v = [0u8; 8];
        v[..hw].copy_from_slice(&host[o..o + hw]);
        o += hw;
        let b = &v[..gw];
        if be {
            out.extend(b.iter().rev());
        } else {
            out.extend_from_slice(b);
        }
    }
    out
}
/// The inverse of [`narrow`]: a guest structure to the host's layout, each field
/// sign-extended (the widened structures hold signed times and counts).
pub fn widen(guest: &[u8], fields: &[(usize, usize)], be: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.0).sum());
    let mut o = 0;
    for &(hw, gw) in fields {
        let mut b = guest[o..o + gw].to_vec();
        o += gw;
        if be {
            b.reverse();
        }
        let neg = b.last().is_some_and(|&x| x & 0x80 != 0);
        b.resize(hw, if neg { 0xff } else { 0 });
        out.extend_from_slice(&b);
    }
    out
}
/// Guest size of a [`narrow`] layout.
pub const fn guest_size(fields: &[(usize, usize)]) -> usize {
    let mut i = 0;
    let mut n = 0;
    while i < fields.len() {
        n += fields[i].1;
        i += 1;
    }
    n
}
/// Host size of a [`narrow`] layout.
pub const fn host_size(fields: &[(usize, usize)]) -> usize {
    let mut i = 0;
    let mut n = 0;
    while i < fields.len() {
        n += fields[i].0;
        i += 1;
    }
    n
}

// ILP32 layouts as (host, guest) field widths.
/// `long` pairs: struct timeval, struct timespec (32-bit time_t).
pub const LONGS2: &[(usize, usize)] = &[(8, 4), (8, 4)];
/// struct itimerval, struct tms: four longs.
pub const LONGS4: &[(usize, usize)] = &[(8, 4), (8, 4), (8, 4), (8, 4)];
/// struct rusage: two timevals and fourteen longs (72 bytes).
pub const RUSAGE32: &[(usize, usize)] = &[(8, 4); 18];
/// struct sysinfo (64 bytes): uptime, loads[3], six sizes, procs, pad, totalhigh,
/// freehigh, mem_unit, _f[8].
pub const SYSINFO32: &[(usize, usize)] = &[
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (2, 2),
    (2, 2),
    (4, 0),
    (8, 4),
    (8, 4),
    (4, 4),
    (0, 4),
    (0, 4),
];
/// struct statfs64 of 32-bit PowerPC (88 bytes): f_type and f_bsize are 32 bits, the
/// counts 64, fsid two ints, then namelen, frsize, flags and spare[4] of 32 bits.
pub const STATFS64_32: &[(usize, usize)] = &[
    (8, 4),
    (8, 4),
    (8, 8),
    (8, 8),
    (8, 8),
    (8, 8),
    (8, 8),
    (4, 4),
    (4, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (0, 4),
];

/// struct statfs of 32-bit PowerPC (compat_statfs, 64 bytes): every field 32 bits,
/// fsid two ints.
pub const STATFS32: &[(usize, usize)] = &[
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (4, 4),
    (4, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
    (8, 4),
];

/// A host siginfo (x86-64 layout) in the ILP32 big-endian layout (32-bit PowerPC):
/// the union starts at byte 12 and pointers, clock_t and sigval are 32 bits.
pub fn siginfo_to_ilp32_be(host: &[u8; 128], signo: i32, code: i32) -> [u8; 128] {
    let mut g = [0u8; 128];
    let h32 = |o: usize| u32::from_le_bytes(host[o..o + 4].try_into().unwrap());
    let h64 = |o: usize| u64::from_le_bytes(host[o..o + 8].try_into().unwrap());
    let mut put = |o: usize, v: u32| g[o..o + 4].copy_from_slice(&v.to_be_bytes());
    put(0, h32(0));
    put(4, h32(4));
    put(8, h32(8));
    match signo {
        // Faults from the kernel: si_addr.
        4 | 5 | 7 | 8 | 11 if code > 0 => put(12, h64(16) as u32),
        // SIGCHLD: pid, uid, status, utime, stime.
        17 if code > 0 => {
            put(12, h32(16));
            put(16, h32(20));
            put(20, h32(24));
            put(24, h64(32) as u32);
            put(28, h64(40) as u32);
        }
        // SIGPOLL: band, fd.
        29 if code > 0 => {
            put(12, h64(16) as u32);
            put(16, h32(24));
        }
        // kill, sigqueue, timers: pid/tid, uid/overrun, sigval.
        _ => {
            put(12, h32(16));
            put(16, h32(20));
            put(20, h64(24) as u32);
        }
    }
    g
}

/// A siginfo an ILP32 big-endian guest gives the kernel (rt_sigqueueinfo: the
/// kill/sigqueue fields), in the host's layout.
pub fn siginfo_from_ilp32_be(g: &[u8; 128]) -> [u8; 128] {
    let mut h = [0u8; 128];
    let g32 = |o: usize| u32::from_be_bytes(g[o..o + 4].try_into().unwrap());
    for (ho, go) in [(0, 0), (4, 4), (8, 8), (16, 12), (20, 16), (24, 20)] {
        h[ho..ho + 4].copy_from_slice(&g32(go).to_le_bytes());
    }
    h
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
        assert_eq!(guest_size(RUSAGE32), 72);
        assert_eq!(guest_size(SYSINFO32), 64);
        assert_eq!(host_size(SYSINFO32), 108);
        assert_eq!(guest_size(STATFS64_32), 88);
        assert_eq!(host_size(STATFS64_32), 120);
        assert_eq!(guest_size(STATFS32), 64);
        assert_eq!(host_size(STATFS32), 120);
        let h: Vec<u8> = [-2i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let g = narrow(&h, LONGS2, true);
        assert_eq!(g, [0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 7]);
        assert_eq!(widen(&g, LONGS2, true), h);
        assert_eq!(sigset_bytes(true, 4, 1 << 33 | 1), [0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(sigset_from(true, 4, &[0, 0, 0, 1, 0, 0, 0, 2]), 1 << 33 | 1);
        let mut b = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        swap_fields(&mut b, POLLFD);
        assert_eq!(b, [4, 3, 2, 1, 6, 5, 8, 7, 9, 10]);
    }
}
