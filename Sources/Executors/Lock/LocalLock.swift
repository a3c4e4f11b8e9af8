import Evaluator
import Foundation
import PolicyLang

#if canImport(Glibc)
    import Glibc
#endif

/// `lock local`: one slot, an `flock` on a file. The holder's metadata is written into the file so other rc
/// processes (`rc status`) can say who holds it. The kernel drops the lock when the holder dies, so a crashed
/// daemon never leaves it stuck.
public actor LocalLock: LockBackend {
    public nonisolated let path: String
    private var fd: Int32 = -1

    /// A lock on `path` (created when missing, mode 0644).
    public init(path: String) {
        self.path = path
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Opens the lock file: never through a symbolic link, only a regular file of rc's user with one link, in a
    /// directory nobody else can write (so no other user can plant a link or a file there). With `create` a
    /// missing file is made (0600); without it a missing file is `nil`.
    private func open(create: Bool) throws(LockUnavailable) -> Int32? {
        let dir = (path as NSString).deletingLastPathComponent
        if create, !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            } catch {
                throw LockUnavailable("cannot create \(dir): \(error.localizedDescription)")
            }
        }
        if !create, !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) { return nil }
        if let why = StateStore.untrusted(directory: dir.isEmpty ? "." : dir) { throw LockUnavailable("refusing the lock file \(path): \(why)") }
        let f = Glibc.open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0o600)
        guard f >= 0 else {
            if errno == ENOENT, !create { return nil }
            if errno == ELOOP { throw LockUnavailable("refusing the lock file \(path): it is a symbolic link") }
            throw LockUnavailable("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        if fstat(f, &info) != 0 || info.st_mode & S_IFMT != S_IFREG || info.st_uid != geteuid() || info.st_nlink != 1 {
            close(f)
            throw LockUnavailable("refusing the lock file \(path): not a regular file of uid \(geteuid()) with a single link (uid \(info.st_uid), \(info.st_nlink) links)")
        }
        return f
    }

    public func status(node: String) async throws(LockUnavailable) -> LockFacts {
        if fd >= 0 {
            return LockFacts(held: true, available: false, slots: 1, holders: [holderFromFile()].compactMap { $0 })
        }
        // A status look creates nothing: no lock file means nobody holds it.
        guard let probe = try open(create: false) else { return LockFacts(held: false, available: true, slots: 1, holders: []) }
        defer { close(probe) }
        if flock(probe, LOCK_EX | LOCK_NB) == 0 {
            flock(probe, LOCK_UN)
            return LockFacts(held: false, available: true, slots: 1, holders: [])
        }
        let holder = holderFromFile()
        return LockFacts(held: holder?.node == node, available: false, slots: 1, holders: [holder].compactMap { $0 })
    }

    public func acquire(_ holder: HolderInfo) async throws(LockUnavailable) -> Bool {
        if fd >= 0 { return true }
        guard let f = try open(create: true) else { throw LockUnavailable("cannot open the lock file \(path)") }
        guard flock(f, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(f)
            if busy { return false }
            throw LockUnavailable("flock \(path): \(String(cString: strerror(errno)))")
        }
        fd = f
        if let data = try? JSONEncoder().encode(holder) {
            ftruncate(f, 0)
            _ = data.withUnsafeBytes { pwrite(f, $0.baseAddress, $0.count, 0) }
            fsync(f)
        }
        return true
    }

    public func release(node: String) async throws(LockUnavailable) {
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    private func holderFromFile() -> LockHolder? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty,
            let info = try? JSONDecoder().decode(HolderInfo.self, from: data)
        else { return nil }
        return info.lockHolder
    }
}
