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

    private func open() throws(LockUnavailable) -> Int32 {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw LockUnavailable("cannot create \(dir): \(error.localizedDescription)")
            }
        }
        let f = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw LockUnavailable("cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        return f
    }

    public func status(node: String) async throws(LockUnavailable) -> LockFacts {
        if fd >= 0 {
            return LockFacts(held: true, available: false, slots: 1, holders: [holderFromFile()].compactMap { $0 })
        }
        let probe = try open()
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
        let f = try open()
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
