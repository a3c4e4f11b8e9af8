import Foundation

/// The time zone an imported policy reads its windows in, and where that came from (said in the policy's comment).
public struct ImportTimeZone: Sendable, Equatable {
    /// An IANA name, as rc's `timezone` takes it.
    public var name: String
    /// How it was chosen, e.g. `--timezone` or `TZ=Europe/Berlin`.
    public var source: String
    /// Set when clusterrebootd would have fallen back to UTC (say so in a warning).
    public var note: String?

    /// Creates a zone choice.
    public init(name: String, source: String, note: String? = nil) {
        self.name = name
        self.source = source
        self.note = note
    }

    /// The zone named by `--timezone`.
    public static func given(_ name: String) -> ImportTimeZone {
        ImportTimeZone(name: name, source: "--timezone")
    }

    /// The local zone as a Go program on this host sees it (Go's `time` package, `initLocal` in `zoneinfo_unix.go`):
    /// no `TZ` → `/etc/localtime`; `TZ=""` → UTC; `TZ=NAME` or `TZ=:NAME` → the database's NAME; `TZ=/path` → that
    /// file; anything Go cannot load → UTC. A zone file is named by the database path its link points to, else by
    /// `/etc/timezone` when that names the same file; a copy rc cannot name is an error (pass `--timezone`).
    public static func host(
        environment: [String: String], localtime: String = "/etc/localtime", timezoneFile: String = "/etc/timezone",
        zoneinfo: [String] = ["/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/", "/usr/lib/locale/TZ/", "/etc/zoneinfo/"]
    ) -> Result<ImportTimeZone, ImportProblem> {
        let utcFallback = "a Go program falls back to UTC here"
        guard var tz = environment["TZ"] else {
            guard FileManager.default.fileExists(atPath: localtime) else {
                return .success(ImportTimeZone(name: "UTC", source: "no TZ and no \(localtime)", note: "there is no \(localtime): \(utcFallback)"))
            }
            return name(ofZoneFile: localtime, timezoneFile: timezoneFile, zoneinfo: zoneinfo).map { ImportTimeZone(name: $0, source: localtime) }
        }
        if tz.isEmpty { return .success(ImportTimeZone(name: "UTC", source: "TZ=\"\"")) }
        if tz.hasPrefix(":") { tz.removeFirst() }
        if tz.hasPrefix("/") {
            guard FileManager.default.fileExists(atPath: tz) else {
                return .success(ImportTimeZone(name: "UTC", source: "TZ=\(tz)", note: "\(tz) does not exist: \(utcFallback)"))
            }
            return name(ofZoneFile: tz, timezoneFile: timezoneFile, zoneinfo: zoneinfo).map { ImportTimeZone(name: $0, source: "TZ=\(tz)") }
        }
        if tz.isEmpty || tz == "UTC" { return .success(ImportTimeZone(name: "UTC", source: "TZ=\(environment["TZ"]!)")) }
        var roots = zoneinfo
        if let dir = environment["ZONEINFO"], !dir.isEmpty { roots.insert(dir.hasSuffix("/") ? dir : dir + "/", at: 0) }
        if roots.contains(where: { isZoneFile($0 + tz) }) { return .success(ImportTimeZone(name: tz, source: "TZ=\(tz)")) }
        return .success(ImportTimeZone(name: "UTC", source: "TZ=\(tz)", note: "\(quote(tz)) is not in the time zone database: \(utcFallback)"))
    }

    private static func quote(_ s: String) -> String { "\"\(s)\"" }

    /// A TZif file (the magic `TZif`).
    private static func isZoneFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("TZif".utf8)
    }

    /// The database name of a zone file: the part of its link's target after `zoneinfo/`, or `/etc/timezone`'s
    /// name when that database file has the same bytes.
    static func name(ofZoneFile path: String, timezoneFile: String, zoneinfo: [String]) -> Result<String, ImportProblem> {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        for marker in ["/zoneinfo/posix/", "/zoneinfo/"] {
            if let range = resolved.range(of: marker) {
                let name = String(resolved[range.upperBound...])
                if !name.isEmpty { return .success(name) }
            }
        }
        if let named = try? String(contentsOfFile: timezoneFile, encoding: .utf8) {
            let name = named.trimmingCharacters(in: .whitespacesAndNewlines)
            let bytes = FileManager.default.contents(atPath: path)
            if !name.isEmpty, bytes != nil, zoneinfo.contains(where: { FileManager.default.contents(atPath: $0 + name) == bytes }) {
                return .success(name)
            }
        }
        return .failure(ImportProblem(
            "cannot tell which time zone \(path) is (it is not a link into the time zone database, and \(timezoneFile) does not name it); pass --timezone ZONE, the zone of the hosts that run clusterrebootd"
        ))
    }
}

/// Why an input cannot be imported, in words for the diagnostic.
public struct ImportProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    /// Creates a problem.
    public init(_ description: String) {
        self.description = description
    }
}
