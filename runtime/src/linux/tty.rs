//! Terminal ioctls: the guest's request numbers and `struct termios`, and their
//! translation to the host's (x86-64, whose numbers asm-generic shares).
//!
//! PowerPC numbers its terminal ioctls with `_IOR`/`_IOW` (`asm/ioctls.h`) and has
//! its own `struct termios` (`asm/termbits.h`: 19 control characters in another
//! order, then `c_line`, then the input and output speeds; other flag bits).  The
//! host side of a PowerPC termios request is x86-64's `termios2` (TCGETS2 and
//! TCSETS*2), which carries the speeds too.

use super::endian;

/// What a terminal ioctl's argument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtyArg {
    /// A value (or nothing), passed as is.
    Value,
    /// A pointer to `len` bytes of `width`-byte fields, which the kernel writes
    /// (`write`) or reads.
    Ptr { len: u64, width: usize, write: bool },
    /// A pointer to the guest's `struct termios`, written (TCGETS) or read (TCSETS*).
    Termios { write: bool },
}

/// One terminal ioctl: guest request, host request, argument.
pub type TtyIoctl = (u64, u64, TtyArg);

/// A guest ABI's terminal ioctls.
pub struct TtyAbi {
    pub ioctls: &'static [TtyIoctl],
    /// Size of the guest's `struct termios` ([`TtyArg::Termios`] only).
    pub termios_len: u64,
    /// The guest's termios (guest byte order) as the host's `termios2`.
    pub termios_to_host: fn(&[u8], bool) -> [u8; HOST_TERMIOS2],
    /// The host's `termios2` as the guest's termios (guest byte order).
    pub termios_to_guest: fn(&[u8; HOST_TERMIOS2], bool) -> Vec<u8>,
}

impl TtyAbi {
    /// The ioctl with guest request `req`, if it is a terminal ioctl mimic knows.
    pub fn find(&self, req: u64) -> Option<&TtyIoctl> {
        self.ioctls.iter().find(|t| t.0 == req)
    }
}

/// Size of x86-64's `struct termios2` (4 flag words, c_line, 19 c_cc, 2 speeds).
pub const HOST_TERMIOS2: usize = 44;
const HOST_TCGETS2: u64 = 0x802c_542a;
const HOST_TCSETS2: u64 = 0x402c_542b;
const HOST_TCSETSW2: u64 = 0x402c_542c;
const HOST_TCSETSF2: u64 = 0x402c_542d;

const fn p(len: u64, width: usize, write: bool) -> TtyArg {
    TtyArg::Ptr { len, width, write }
}

/// asm-generic (AArch64): the host's numbers and layout.  TCGETS/TCSETS* pass the
/// guest's buffer (glibc's 60-byte one is checked) straight to the kernel.
pub const GENERIC: TtyAbi = TtyAbi {
    ioctls: &[
        (0x5401, 0x5401, p(60, 4, true)),  // TCGETS (struct termios)
        (0x5402, 0x5402, p(60, 4, false)), // TCSETS
        (0x5403, 0x5403, p(60, 4, false)), // TCSETSW
        (0x5404, 0x5404, p(60, 4, false)), // TCSETSF
        (0x540b, 0x540b, TtyArg::Value),   // TCFLSH
        (0x540e, 0x540e, TtyArg::Value),   // TIOCSCTTY
        (0x540f, 0x540f, p(4, 4, true)),   // TIOCGPGRP
        (0x5410, 0x5410, p(4, 4, false)),  // TIOCSPGRP
        (0x5413, 0x5413, p(8, 2, true)),   // TIOCGWINSZ
        (0x5414, 0x5414, p(8, 2, false)),  // TIOCSWINSZ
        (0x541b, 0x541b, p(4, 4, true)),   // FIONREAD
        (0x5421, 0x5421, p(4, 4, false)),  // FIONBIO
        (0x5451, 0x5451, TtyArg::Value),   // FIOCLEX
        (0x5450, 0x5450, TtyArg::Value),   // FIONCLEX
        (0x5429, 0x5429, p(4, 4, true)),   // TIOCGSID
    ],
    termios_len: 0,
    termios_to_host: termios_unused_in,
    termios_to_guest: termios_unused_out,
};

fn termios_unused_in(_: &[u8], _: bool) -> [u8; HOST_TERMIOS2] {
    [0; HOST_TERMIOS2]
}
fn termios_unused_out(_: &[u8; HOST_TERMIOS2], _: bool) -> Vec<u8> {
    Vec::new()
}

/// PowerPC (arch/powerpc/include/uapi/asm/ioctls.h, termbits.h).
pub const PPC: TtyAbi = TtyAbi {
    ioctls: &[
        (0x402c_7413, HOST_TCGETS2, TtyArg::Termios { write: true }), // TCGETS
        (0x802c_7414, HOST_TCSETS2, TtyArg::Termios { write: false }), // TCSETS
        (0x802c_7415, HOST_TCSETSW2, TtyArg::Termios { write: false }), // TCSETSW
        (0x802c_7416, HOST_TCSETSF2, TtyArg::Termios { write: false }), // TCSETSF
        (0x2000_741f, 0x540b, TtyArg::Value),                         // TCFLSH
        (0x540e, 0x540e, TtyArg::Value),                              // TIOCSCTTY
        (0x4004_7477, 0x540f, p(4, 4, true)),                         // TIOCGPGRP
        (0x8004_7476, 0x5410, p(4, 4, false)),                        // TIOCSPGRP
        (0x4008_7468, 0x5413, p(8, 2, true)),                         // TIOCGWINSZ
        (0x8008_7467, 0x5414, p(8, 2, false)),                        // TIOCSWINSZ
        (0x4004_667f, 0x541b, p(4, 4, true)),                         // FIONREAD
        (0x8004_667e, 0x5421, p(4, 4, false)),                        // FIONBIO
        (0x2000_6601, 0x5451, TtyArg::Value),                         // FIOCLEX
        (0x2000_6602, 0x5450, TtyArg::Value),                         // FIONCLEX
        (0x5429, 0x5429, p(4, 4, true)),                              // TIOCGSID
    ],
    termios_len: PPC_TERMIOS as u64,
    termios_to_host: ppc_termios_to_host,
    termios_to_guest: ppc_termios_to_guest,
};

/// sizeof(struct termios) on PowerPC.
const PPC_TERMIOS: usize = 44;

/// A flag field's translation: the bits both sides agree on, then (guest mask,
/// guest value, host mask, host value) as qemu's bitmask_transtbl: a field whose
/// bits under the mask equal the value gets the other side's value.
type FlagMap = (u32, &'static [(u32, u32, u32, u32)]);

const fn bit(g: u32, h: u32) -> (u32, u32, u32, u32) {
    (g, g, h, h)
}

/// c_iflag: IGNBRK..ICRNL, IXANY, IMAXBEL, IUTF8 agree; IXON, IXOFF, IUCLC differ.
const PPC_IFLAG: FlagMap = (
    0x1ff | 0x800 | 0x2000 | 0x4000,
    &[
        bit(0x200, 0x400),  // IXON
        bit(0x400, 0x1000), // IXOFF
        bit(0x1000, 0x200), // IUCLC
    ],
);

/// c_oflag.
const PPC_OFLAG: FlagMap = (
    0xf9, // OPOST OCRNL ONOCR ONLRET OFILL OFDEL
    &[
        bit(0x02, 0x04), // ONLCR
        bit(0x04, 0x02), // OLCUC
        // NLDLY: x86-64 has NL0 and NL1 only.
        (0x300, 0x100, 0x100, 0x100),
        (0x300, 0x200, 0x100, 0x100),
        (0x300, 0x300, 0x100, 0x100),
        (0xc00, 0x400, 0x1800, 0x800),  // TAB1
        (0xc00, 0x800, 0x1800, 0x1000), // TAB2
        (0xc00, 0xc00, 0x1800, 0x1800), // TAB3
        (0x3000, 0x1000, 0x600, 0x200), // CR1
        (0x3000, 0x2000, 0x600, 0x400), // CR2
        (0x3000, 0x3000, 0x600, 0x600), // CR3
        bit(0x4000, 0x8000),            // FFDLY
        bit(0x8000, 0x2000),            // BSDLY
        bit(0x10000, 0x4000),           // VTDLY
    ],
);

/// c_cflag apart from the baud rates (CBAUD, CIBAUD: see [`baud_to_host`]).
const PPC_CFLAG: FlagMap = (
    0xe000_0000, // ADDRB CMSPAR CRTSCTS
    &[
        (0x300, 0x100, 0x30, 0x10), // CS6
        (0x300, 0x200, 0x30, 0x20), // CS7
        (0x300, 0x300, 0x30, 0x30), // CS8
        bit(0x400, 0x40),           // CSTOPB
        bit(0x800, 0x80),           // CREAD
        bit(0x1000, 0x100),         // PARENB
        bit(0x2000, 0x200),         // PARODD
        bit(0x4000, 0x400),         // HUPCL
        bit(0x8000, 0x800),         // CLOCAL
    ],
);

/// c_lflag.
const PPC_LFLAG: FlagMap = (
    0,
    &[
        bit(0x80, 0x01),            // ISIG
        bit(0x100, 0x02),           // ICANON
        bit(0x4000, 0x04),          // XCASE
        bit(0x08, 0x08),            // ECHO
        bit(0x02, 0x10),            // ECHOE
        bit(0x04, 0x20),            // ECHOK
        bit(0x10, 0x40),            // ECHONL
        bit(0x8000_0000, 0x80),     // NOFLSH
        bit(0x40_0000, 0x100),      // TOSTOP
        bit(0x40, 0x200),           // ECHOCTL
        bit(0x20, 0x400),           // ECHOPRT
        bit(0x01, 0x800),           // ECHOKE
        bit(0x80_0000, 0x1000),     // FLUSHO
        bit(0x2000_0000, 0x4000),   // PENDIN
        bit(0x400, 0x8000),         // IEXTEN
        bit(0x1000_0000, 0x1_0000), // EXTPROC
    ],
);

/// PowerPC c_cc index -> x86-64 c_cc index (VINTR VQUIT VERASE VKILL VEOF VMIN
/// VEOL VTIME VEOL2 VSWTC VWERASE VREPRINT VSUSP VSTART VSTOP VLNEXT VDISCARD).
const PPC_CC: [usize; 17] = [0, 1, 2, 3, 4, 6, 11, 5, 16, 7, 14, 12, 10, 8, 9, 15, 13];

fn map_flags(v: u32, (same, map): FlagMap, to_host: bool) -> u32 {
    let mut out = v & same;
    for &(gm, gv, hm, hv) in map {
        let (fm, fv, tv) = if to_host { (gm, gv, hv) } else { (hm, hv, gv) };
        if v & fm == fv {
            out |= tv;
        }
    }
    out
}

/// A baud rate code (CBAUD bits): B0..B38400 agree; PowerPC numbers B57600..B4000000
/// 0x10..0x1e and BOTHER 0x1f, x86-64 0x1001..0x100f and 0x1000.
fn baud_to_host(b: u32) -> u32 {
    match b & 0xff {
        v @ 0..=0xf => v,
        v @ 0x10..=0x1e => 0x1001 + (v - 0x10),
        _ => 0x1000,
    }
}
fn baud_to_guest(b: u32) -> u32 {
    match b & 0x100f {
        v @ 0..=0xf => v,
        0x1000 => 0x1f,
        v => 0x10 + (v - 0x1001),
    }
}

fn cflag_to_host(c: u32) -> u32 {
    map_flags(c, PPC_CFLAG, true) | baud_to_host(c) | baud_to_host(c >> 16) << 16
}
fn cflag_to_guest(c: u32) -> u32 {
    map_flags(c, PPC_CFLAG, false) | baud_to_guest(c) | baud_to_guest(c >> 16) << 16
}

/// PowerPC's termios (c_iflag, c_oflag, c_cflag, c_lflag, c_cc[19], c_line,
/// c_ispeed, c_ospeed) as x86-64's termios2 (the four flags, c_line, c_cc[19],
/// c_ispeed, c_ospeed).
pub fn ppc_termios_to_host(g: &[u8], be: bool) -> [u8; HOST_TERMIOS2] {
    let u = |o: usize| endian::u32_from(be, &g[o..o + 4]);
    let mut h = [0u8; HOST_TERMIOS2];
    let mut put = |o: usize, v: u32| h[o..o + 4].copy_from_slice(&v.to_le_bytes());
    put(0, map_flags(u(0), PPC_IFLAG, true));
    put(4, map_flags(u(4), PPC_OFLAG, true));
    put(8, cflag_to_host(u(8)));
    put(12, map_flags(u(12), PPC_LFLAG, true));
    put(36, u(36));
    put(40, u(40));
    h[16] = g[35];
    for (gi, &hi) in PPC_CC.iter().enumerate() {
        h[17 + hi] = g[16 + gi];
    }
    h
}

/// x86-64's termios2 as PowerPC's termios (see [`ppc_termios_to_host`]).
pub fn ppc_termios_to_guest(h: &[u8; HOST_TERMIOS2], be: bool) -> Vec<u8> {
    let u = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
    let mut g = vec![0u8; PPC_TERMIOS];
    let mut put = |o: usize, v: u32| g[o..o + 4].copy_from_slice(&endian::u32_bytes(be, v));
    put(0, map_flags(u(0), PPC_IFLAG, false));
    put(4, map_flags(u(4), PPC_OFLAG, false));
    put(8, cflag_to_guest(u(8)));
    put(12, map_flags(u(12), PPC_LFLAG, false));
    put(36, u(36));
    put(40, u(40));
    g[35] = h[16];
    for (gi, &hi) in PPC_CC.iter().enumerate() {
        g[16 + gi] = h[17 + hi];
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PowerPC request numbers, as a program built with powerpc64le-linux-gnu-gcc
    /// against its asm/ioctls.h printed them under qemu-ppc64le (the same for
    /// powerpc64-linux-gnu); host numbers from the libc crate.
    #[test]
    fn ppc_requests() {
        let want: &[(&str, u64, u64)] = &[
            ("TCGETS", 0x402c7413, libc::TCGETS2),
            ("TCSETS", 0x802c7414, libc::TCSETS2),
            ("TCSETSW", 0x802c7415, libc::TCSETSW2),
            ("TCSETSF", 0x802c7416, libc::TCSETSF2),
            ("TCFLSH", 0x2000741f, libc::TCFLSH),
            ("TIOCSCTTY", 0x0000540e, libc::TIOCSCTTY),
            ("TIOCGPGRP", 0x40047477, libc::TIOCGPGRP),
            ("TIOCSPGRP", 0x80047476, libc::TIOCSPGRP),
            ("TIOCGWINSZ", 0x40087468, libc::TIOCGWINSZ),
            ("TIOCSWINSZ", 0x80087467, libc::TIOCSWINSZ),
            ("FIONREAD", 0x4004667f, libc::FIONREAD),
            ("FIONBIO", 0x8004667e, libc::FIONBIO),
            ("FIOCLEX", 0x20006601, libc::FIOCLEX),
            ("FIONCLEX", 0x20006602, libc::FIONCLEX),
            ("TIOCGSID", 0x00005429, libc::TIOCGSID),
        ];
        assert_eq!(PPC.ioctls.len(), want.len());
        for &(name, g, h) in want {
            let t = PPC.find(g).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(t.1, h, "{name}");
            // The generic ABI has the host's numbers for the same requests.
            let non_termios = !matches!(t.2, TtyArg::Termios { .. });
            if non_termios {
                assert_eq!(GENERIC.find(h).map(|t| (t.1, t.2)), Some((h, t.2)), "{name}");
            }
        }
        assert_eq!(PPC.termios_len, 44);
        assert_eq!(std::mem::size_of::<libc::termios2>(), HOST_TERMIOS2);
    }

    /// A PowerPC termios (values from its asm/termbits.h) and the x86-64 one
    /// (libc crate constants) it stands for, both ways, in both byte orders.
    #[test]
    fn ppc_termios() {
        use libc::*;
        // PowerPC: IXON|ICRNL|IUTF8, OPOST|ONLCR|TAB3|CR2, B115200 (in and out)|CS8|CREAD|
        // HUPCL|CRTSCTS, ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN|NOFLSH.
        let iflag: u32 = 0x200 | 0x100 | 0x4000;
        let oflag: u32 = 0x1 | 0x2 | 0xc00 | 0x2000;
        let cflag: u32 = 0x11 | 0x11 << 16 | 0x300 | 0x800 | 0x4000 | 0x8000_0000;
        let lflag: u32 = 0x80 | 0x100 | 0x8 | 0x2 | 0x4 | 0x40 | 0x1 | 0x400 | 0x8000_0000;
        // c_cc by PowerPC index: VINTR=3 VQUIT=0x1c VERASE=0x7f VKILL=0x15 VEOF=4 VMIN=1
        // VEOL=0 VTIME=0 VEOL2=0 VSWTC=0 VWERASE=0x17 VREPRINT=0x12 VSUSP=0x1a
        // VSTART=0x11 VSTOP=0x13 VLNEXT=0x16 VDISCARD=0x0f.
        let cc: [u8; 17] = [3, 0x1c, 0x7f, 0x15, 4, 1, 0, 0, 0, 0, 0x17, 0x12, 0x1a, 0x11, 0x13, 0x16, 0x0f];
        for be in [false, true] {
            let mut g = vec![0u8; 44];
            for (o, v) in [(0, iflag), (4, oflag), (8, cflag), (12, lflag), (36, 115200), (40, 115200)] {
                g[o..o + 4].copy_from_slice(&endian::u32_bytes(be, v));
            }
            g[16..33].copy_from_slice(&cc);
            g[35] = 0; // N_TTY
            let h = ppc_termios_to_host(&g, be);
            let u = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
            assert_eq!(u(0), (IXON | ICRNL | IUTF8));
            assert_eq!(u(4), (OPOST | ONLCR | TAB3 | CR2));
            assert_eq!(u(8), (B115200 | (B115200 << IBSHIFT) | CS8 | CREAD | HUPCL | CRTSCTS));
            assert_eq!(u(12), (ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN | NOFLSH));
            assert_eq!((u(36), u(40)), (115200, 115200));
            let hc = |i: usize| h[17 + i];
            assert_eq!(
                [hc(VINTR), hc(VQUIT), hc(VERASE), hc(VKILL), hc(VEOF), hc(VMIN), hc(VSUSP), hc(VSTART)],
                [3, 0x1c, 0x7f, 0x15, 4, 1, 0x1a, 0x11]
            );
            assert_eq!(
                [hc(VSTOP), hc(VWERASE), hc(VREPRINT), hc(VLNEXT), hc(VDISCARD)],
                [0x13, 0x17, 0x12, 0x16, 0x0f]
            );
            assert_eq!(ppc_termios_to_guest(&h, be), g);
        }
    }

    #[test]
    fn bauds_round_trip() {
        for b in (0..=0x1f).chain([0x1f]) {
            assert_eq!(baud_to_guest(baud_to_host(b)), b);
        }
        assert_eq!(baud_to_host(0x1f), libc::BOTHER);
        assert_eq!(baud_to_host(0x10), libc::B57600);
        assert_eq!(baud_to_host(0x1e), libc::B4000000);
    }
}
