import ArgumentParser
import Evaluator
import Foundation
import PolicyLang

/// When to colour output.
enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never

    /// Whether to colour output written to `fd`: `auto` colours a terminal unless NO_COLOR is set.
    func enabled(for fd: Int32) -> Bool {
        switch self {
        case .always: true
        case .never: false
        case .auto: isatty(fd) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        }
    }
}

extension DiagnosticFormat: ExpressibleByArgument {}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A file or directory the user named that cannot be read.
struct InputError: Error, CustomStringConvertible {
    var description: String
}

/// Finding and reading policy files.
enum PolicyFiles {
    /// Expands paths: files as given, directories to every `*.rcl` below them (sorted).
    static func collect(_ paths: [String]) throws(InputError) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw InputError(description: "\(path): no such file or directory")
            }
            if isDirectory.boolValue {
                guard let enumerator = fm.enumerator(atPath: path) else {
                    throw InputError(description: "\(path): cannot read the directory")
                }
                var found: [String] = []
                while let item = enumerator.nextObject() as? String {
                    if item.hasSuffix(".rcl") {
                        let full = path.hasSuffix("/") ? path + item : path + "/" + item
                        var isDir: ObjCBool = false
                        if fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { found.append(full) }
                    }
                }
                out.append(contentsOf: found.sorted())
            } else {
                out.append(path)
            }
        }
        return out
    }

    /// `collect`, or the command ends with a usage error naming what is missing.
    static func collectOrExit(_ paths: [String]) throws -> [String] {
        do {
            return try collect(paths)
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.usage)
        }
    }

    /// `read`, or the command ends with a usage error naming the file.
    static func readOrExit(_ path: String) throws -> SourceFile {
        do {
            return try read(path)
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.usage)
        }
    }

    /// Reads a file as raw bytes: a regular file, or a pipe (`-`, `/dev/stdin`, a shell's `<(…)`), to its end.
    static func read(_ path: String) throws(InputError) -> SourceFile {
        if path == "-" {
            return SourceFile(path: "<stdin>", bytes: Array(FileHandle.standardInput.readDataToEndOfFile()))
        }
        // A pipe has no size to read up to: it is read to its end, and a failure says why.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InputError(description: "\(path): cannot read the file: \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw InputError(description: "\(path): cannot read the file: it is a directory")
        }
        do {
            return SourceFile(path: path, bytes: Array(try handle.readToEnd() ?? Data()))
        } catch {
            throw InputError(description: "\(path): cannot read the file: \(error.localizedDescription)")
        }
    }
}

/// The format of the daemon's log lines on standard error.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case json, text

    /// JSON when standard error is not a terminal (under systemd, in a pipe), text on a terminal.
    static var automatic: LogFormat { isatty(STDERR_FILENO) == 1 ? .text : .json }
}
