import Executors
import Foundation
import PolicyLang
import Testing

/// The JSON body of an http check, read into the values its `ok when` compares.
@Suite struct JSONReaderTests {
    func read(_ text: String) throws(JSONReader.Malformed) -> Value { try JSONReader.read(Array(text.utf8)) }

    @Test func objectsArraysNumbersStringsAndBoolsAreTheirValues() throws {
        let value = try read(#" {"a": {"b": [1, -2, 2.5, 1e3, "x\n\u00e9\ud83d\ude00", true, false], "c": 9223372036854775807, "d": 9223372036854775808} } "#)
        #expect(
            value
                == .map([
                    "a": .map([
                        "b": .list([.int(1), .int(-2), .number(2.5), .number(1000), .string("x\né😀"), .bool(true), .bool(false)]),
                        "c": .int(9_223_372_036_854_775_807), "d": .number(9_223_372_036_854_775_808),
                    ])
                ]))
    }

    @Test func nullIsNoFieldInAnObjectAndKeepsItsPlaceInAnArray() throws {
        #expect(try read(#"{"a": null, "b": 1}"#) == .map(["b": .int(1)]))
        // The element after a null keeps its index; the null itself is no number and no string.
        #expect(try read("[null, 7]") == .list([.map([:]), .int(7)]))
    }

    @Test(arguments: [
        ("", "the text ends where a value was expected", 0),
        ("{\"a\": 1,}", "expected a member name in quotes", 8),
        ("[1 2]", "expected `,` or `]` in an array", 3),
        ("{\"a\" 1}", "expected `:` after a member name", 5),
        ("01", "there is more after the JSON value", 1),
        ("1.", "expected a digit after `.`", 2),
        ("\"a\tb\"", "a control character in a string", 2),
        ("\"\\ud800\"", "a lone surrogate in a string", 7),
        ("tru", "unexpected character", 0),
        ("{\"a\": 1} x", "there is more after the JSON value", 9),
        ("1e999", "the number 1e999 is out of range", 0),
    ])
    func malformedTextSaysWhereAndWhy(_ text: String, _ why: String, _ offset: Int) {
        #expect(throws: JSONReader.Malformed(why: why, offset: offset)) { try read(text) }
    }

    @Test func nestingIsBoundedWithItsOwnReason() throws {
        let limit = JSONReader.maxDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        var value = try read(deepest)
        for _ in 1..<limit {
            guard case .list(let items) = value, items.count == 1 else { Issue.record("not a list of one"); return }
            value = items[0]
        }
        #expect(value == .list([]))
        let deeper = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONReader.Malformed(why: "arrays and objects nest deeper than \(limit) levels", offset: limit)) { try read(deeper) }
    }

    @Test func aBodyOfManyDeepArraysIsReadWhole() throws {
        // 40 arrays nested 98 deep side by side (100 levels with the object and its list): each level is read once.
        let one = String(repeating: "[", count: 98) + "1" + String(repeating: "]", count: 98)
        let text = "{\"x\": [" + Array(repeating: one, count: 40).joined(separator: ",") + "]}"
        guard case .map(let root) = try read(text), case .list(let items)? = root["x"] else {
            Issue.record("not an object with a list")
            return
        }
        #expect(items.count == 40)
    }
}
