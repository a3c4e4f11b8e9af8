import Executors
import Foundation
import Testing

@Suite struct AtomicFileTests {
    @Test func replacesContentAndKeepsMode() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("p.rcl").path
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o600)
        try AtomicFile.write("new\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["p.rcl"])
    }

    @Test func unwritableDirectoryIsAnErrorAndLeavesNothing() throws {
        #expect(throws: AtomicFile.WriteError.self) {
            try AtomicFile.write("x", to: "/nonexistent-dir-\(UUID().uuidString)/p.rcl")
        }
    }
}
