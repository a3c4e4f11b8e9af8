import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program rc may run as root: a regular file owned by a trusted user and writable by nobody else, reached only
/// through directories nobody else can change (owned by a trusted user, not writable by group or others unless
/// sticky), symbolic links included. The file is opened and its descriptor checked, and that descriptor is what
/// runs (`/proc/self/fd`), so a file swapped after the check is never the one executed.
public struct TrustedProgram: Sendable {
    /// The open, checked program; the caller closes it.
    public let descriptor: Int32
    public let path: String

    /// Checks `path` and opens it, or says why it may not run.
    public static func open(_ path: String, owners: Set<uid_t>) -> Result<TrustedProgram, TrustError> {
        guard path.hasPrefix("/") else { return .failure(TrustError("\(path) is not an absolute path")) }
        // Every directory on the way, for the path as written and for the file it resolves to: a link is only as
        // trustworthy as the directory it sits in.
        guard let resolved = realpath(path, nil) else {
            let missing = errno == ENOENT || errno == ENOTDIR
            return .failure(TrustError("\(path): \(String(cString: strerror(errno)))", missing: missing))
        }
        let target = String(cString: resolved)
        free(resolved)
        for candidate in Set([path, target]) {
            var dir = (candidate as NSString).deletingLastPathComponent
            while true {
                if let why = untrusted(directory: dir, owners: owners) { return .failure(TrustError(why + " (on the way to \(path))")) }
                if dir == "/" || dir.isEmpty { break }
                dir = (dir as NSString).deletingLastPathComponent
            }
        }
        let fd = Glibc.open(target, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return .failure(TrustError("\(target): \(String(cString: strerror(errno)))")) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            return .failure(TrustError("\(target): \(String(cString: strerror(errno)))"))
        }
        let shown = target == path ? path : "\(path) (\(target))"
        var why: String?
        if info.st_mode & S_IFMT != S_IFREG {
            why = "\(shown) is not a regular file"
        } else if !owners.contains(info.st_uid) {
            why = "\(shown) is owned by uid \(info.st_uid), not by root" + (getuid() == 0 ? "" : " or uid \(getuid()) (rc's user)")
        } else if info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            why = "\(shown) is writable by \(info.st_mode & S_IWOTH != 0 ? "others" : "its group") (mode \(String(info.st_mode & 0o7777, radix: 8)))"
        } else if info.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH) == 0 {
            why = "\(shown) is not executable"
        }
        if let why {
            close(fd)
            return .failure(TrustError(why))
        }
        return .success(TrustedProgram(descriptor: fd, path: target))
    }

    /// Why a directory on a program's path cannot be trusted, or nil.
    static func untrusted(directory: String, owners: Set<uid_t>) -> String? {
        var info = stat()
        guard lstat(directory.isEmpty ? "/" : directory, &info) == 0 else { return "\(directory): \(String(cString: strerror(errno)))" }
        // A link on the way is followed by realpath and its target checked as a path of its own.
        if info.st_mode & S_IFMT == S_IFLNK { return nil }
        if !owners.contains(info.st_uid) { return "the directory \(directory) is owned by uid \(info.st_uid), not by root" }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0, info.st_mode & S_ISVTX == 0 {
            return "the directory \(directory) is writable by \(info.st_mode & S_IWOTH != 0 ? "others" : "its group") (mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }
}

/// Why a program may not run.
public struct TrustError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The program does not exist (rather than being untrusted).
    public var missing: Bool

    init(_ description: String, missing: Bool = false) {
        self.description = description
        self.missing = missing
    }
}
