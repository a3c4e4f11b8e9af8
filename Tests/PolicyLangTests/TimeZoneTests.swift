import Foundation
import PolicyLang
import Testing

/// Every name of the system's time zone database is accepted; misspellings, offsets written as names and
/// ambiguous abbreviations are not.
@Suite struct TimeZoneTests {
    static let zoneinfo = "/usr/share/zoneinfo"

    static func check(_ zone: String) -> [Diagnostic] {
        Checker.check(SourceFile(path: "tz.rcl", text: "policy \"p\" {}\ndetector \"apt\" debian\ntimezone \"\(zone)\"\nwindow deny \"w\" daily 01:00 .. 02:00 in \"\(zone)\"\n")).diagnostics
    }

    /// The zone names of `zone1970.tab` (third column).
    static func zone1970() throws -> [String] {
        let text = try String(contentsOfFile: zoneinfo + "/zone1970.tab", encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let columns = line.split(separator: "\t")
            return columns.count >= 3 ? String(columns[2]) : nil
        }
    }

    /// Every file of the database that is a zone (a TZif file), by its name relative to the root.
    static func databaseNames() -> [String] {
        var names: [String] = []
        guard let walk = FileManager.default.enumerator(atPath: zoneinfo) else { return [] }
        while let path = walk.nextObject() as? String {
            if path.hasPrefix("posix") || path.hasPrefix("right") || path == "localtime" { continue }
            guard let handle = FileHandle(forReadingAtPath: zoneinfo + "/" + path) else { continue }
            defer { try? handle.close() }
            if let magic = try? handle.read(upToCount: 4), magic == Data("TZif".utf8) { names.append(path) }
        }
        return names.sorted()
    }

    @Test func everyZoneOfZone1970IsAccepted() throws {
        let zones = try Self.zone1970()
        #expect(zones.count > 300)
        let refused = zones.filter { !Self.check($0).isEmpty }
        #expect(refused.isEmpty, "refused: \(refused)")
    }

    @Test(arguments: [
        "Asia/Kolkata", "Asia/Calcutta", "Etc/UTC", "Etc/GMT", "Etc/GMT+5", "Etc/GMT-14", "Etc/Universal", "Etc/Zulu", "CET", "EET",
        "MET", "WET", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT", "EST", "MST", "HST", "UTC", "GMT", "GMT+0", "GMT-0", "US/Pacific",
        "Europe/Kyiv", "Europe/Kiev", "America/Argentina/Buenos_Aires", "Factory",
    ])
    func databaseNamesAreAccepted(_ zone: String) {
        #expect(Self.check(zone).isEmpty, "\(zone): \(Self.check(zone).map(\.message))")
    }

    @Test func everyZoneOfTheDatabaseThatFoundationLoadsIsAccepted() {
        let names = Self.databaseNames()
        #expect(names.count > 400)
        let etc = names.filter { $0.hasPrefix("Etc/") }
        #expect(etc.count > 30)
        let refused = names.filter { TimeZone(identifier: $0) != nil && !Self.check($0).isEmpty }
        #expect(refused.isEmpty, "refused: \(refused)")
    }

    @Test(arguments: [
        ("Europe/Berln", "Europe/Berlin"), ("america/new_york", "America/New_York"), ("Asia/Kolkatta", "Asia/Kolkata"),
        ("Etc/UTCC", "Etc/UTC"), ("berlin", "Europe/Berlin"),
    ])
    func misspellingsGetDidYouMean(_ zone: String, _ suggestion: String) throws {
        let diagnostics = Self.check(zone)
        #expect(diagnostics.map(\.code) == [.unknownTimeZone, .unknownTimeZone])
        #expect(diagnostics.first?.help == "did you mean \"\(suggestion)\"?")
    }

    @Test(arguments: ["GMT+5", "UTC+01:00", "GMT-0330", "IST", "PST", "CST", "localtime", "posix/Europe/Berlin", "", "Europe/../Europe/Berlin"])
    func offsetsAbbreviationsAndPathsAreRefused(_ zone: String) {
        #expect(Self.check(zone).map(\.code) == [.unknownTimeZone, .unknownTimeZone], "\(zone)")
    }

    @Test func aHugeNameIsRefusedQuickly() {
        let name = String(repeating: "Europe/Berlin", count: 100_000)
        let diagnostics = Self.check(name)
        #expect(diagnostics.map(\.code) == [.unknownTimeZone, .unknownTimeZone])
        #expect(diagnostics.allSatisfy { $0.message.count < 500 })
    }
}
