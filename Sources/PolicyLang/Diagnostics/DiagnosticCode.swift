/// Every diagnostic rc can emit, with a stable code.
///
/// `RC1xxx` come from reading the text (lexer and parser), `RC2xxx` from checking meaning and types,
/// `RC3xxx` are lints (warnings), `RC4xxx` come from YAML and JSON inputs (`rc import` configurations and
/// facts files). Each one is documented with a bad
/// example and its fix in `docs/diagnostics.md`; codes are never reused.
public enum DiagnosticCode: String, Sendable, CaseIterable, Hashable {
    // Lexer and parser.
    case invalidUTF8 = "RC1001"
    case unexpectedCharacter = "RC1002"
    case unterminatedString = "RC1003"
    case invalidEscape = "RC1004"
    case unterminatedRegex = "RC1005"
    case invalidLiteral = "RC1006"
    case unexpectedToken = "RC1010"
    case unknownDeclaration = "RC1011"
    case unclosedDelimiter = "RC1012"
    case nestingTooDeep = "RC1013"
    case unknownWeekday = "RC1014"
    case unknownDetectorKind = "RC1015"
    case invalidInterpolation = "RC1016"
    case expressionTooLong = "RC1017"
    case tooManyDiagnostics = "RC1018"

    // Checker.
    case unknownName = "RC2001"
    case typeMismatch = "RC2002"
    case wrongArity = "RC2003"
    case unknownFunction = "RC2004"
    case duplicateName = "RC2005"
    case invalidRegex = "RC2006"
    case unknownTimeZone = "RC2007"
    case emptyWindow = "RC2008"
    case ttlTooShort = "RC2009"
    case unknownTestReference = "RC2010"
    case missingPolicy = "RC2011"
    case duplicateDeclaration = "RC2012"
    case unknownField = "RC2013"
    case missingField = "RC2014"
    case invalidValue = "RC2015"
    case duplicateField = "RC2016"
    case unknownInterpolation = "RC2017"
    case endDayWithManyStartDays = "RC2018"
    case relativePath = "RC2019"
    case invalidHealthEndpoint = "RC2030"
    case caWithoutTLS = "RC2031"
    case headerToken = "RC2032"
    case givenNotMeasured = "RC2033"

    // Lints.
    case noDetectors = "RC3001"
    case plaintextEtcd = "RC3002"
    case insecureSkipVerify = "RC3003"

    // Import.
    case importSyntax = "RC4001"
    case importUnknownField = "RC4002"
    case importInvalidValue = "RC4003"
    case importMissingField = "RC4004"
    case labelsSyntax = "RC4005"
    case importAdjusted = "RC4006"

    /// The severity diagnostics with this code have unless said otherwise.
    public var defaultSeverity: Severity {
        if self == .tooManyDiagnostics { return .note }
        if self == .importAdjusted { return .warning }
        return rawValue.hasPrefix("RC3") ? .warning : .error
    }

    /// A short title, used as the rule description in SARIF output and in the docs.
    public var title: String {
        switch self {
        case .invalidUTF8: "the file is not valid UTF-8"
        case .unexpectedCharacter: "a character that cannot start any token"
        case .unterminatedString: "a string literal is not closed on its line"
        case .invalidEscape: "an unknown escape sequence in a string"
        case .unterminatedRegex: "a regex literal is not closed on its line"
        case .invalidLiteral: "a malformed number, duration, percentage, time or instant"
        case .unexpectedToken: "the parser expected something else here"
        case .unknownDeclaration: "an unknown top-level declaration"
        case .unclosedDelimiter: "a bracket, brace or parenthesis is never closed"
        case .nestingTooDeep: "an expression or block is nested too deeply"
        case .unknownWeekday: "an unknown day in a window"
        case .unknownDetectorKind: "an unknown detector kind"
        case .invalidInterpolation: "a malformed `${…}` interpolation"
        case .tooManyDiagnostics: "more diagnostics than are shown for one file"
        case .expressionTooLong: "an expression is too long: a chain of more operators than rc evaluates"
        case .unknownName: "a name that is not a known fact or variable"
        case .typeMismatch: "a value of the wrong type"
        case .wrongArity: "a function called with the wrong number of arguments"
        case .unknownFunction: "a call to an unknown function"
        case .duplicateName: "two declarations of the same kind share a name"
        case .invalidRegex: "a regex literal that PCRE2 cannot compile"
        case .unknownTimeZone: "a time zone that is not in the time zone database"
        case .emptyWindow: "a window that covers no time at all"
        case .ttlTooShort: "the lock TTL is shorter than the longest health check timeout"
        case .unknownTestReference: "a test names a detector, window, rule or health check that does not exist"
        case .missingPolicy: "the file has no `policy` declaration"
        case .duplicateDeclaration: "a declaration that may appear once appears twice"
        case .unknownField: "an unknown field in a block"
        case .missingField: "a required field is missing"
        case .invalidValue: "a value outside its allowed range"
        case .duplicateField: "a field is given twice in one block"
        case .unknownInterpolation: "an interpolation names something that is not known"
        case .endDayWithManyStartDays: "a window with an end day must have exactly one start day"
        case .relativePath: "a path that must be absolute is relative"
        case .invalidHealthEndpoint: "a health check's endpoint is not an http:// or https:// URL with a host"
        case .caWithoutTLS: "a health check's `ca` with an endpoint that is plain http"
        case .headerToken: "a header without exactly one source for its value (`token_env` or `token_file`)"
        case .givenNotMeasured: "a test gives a health check a value that the check does not measure"
        case .noDetectors: "the policy has no detectors, so it never reboots"
        case .plaintextEtcd: "an etcd endpoint without TLS"
        case .insecureSkipVerify: "TLS certificate verification is turned off"
        case .importSyntax: "the input is not valid YAML or JSON"
        case .importUnknownField: "an unknown field in the input, or a name the policy does not have"
        case .importInvalidValue: "a value of the wrong type or out of range"
        case .importMissingField: "a required field is missing, or the input is empty"
        case .labelsSyntax: "a labels file line that is not KEY=VALUE, a bad key, or a key given twice"
        case .importAdjusted: "an imported setting that rc writes differently, or that clusterrebootd required and rc does without"
        }
    }
}
