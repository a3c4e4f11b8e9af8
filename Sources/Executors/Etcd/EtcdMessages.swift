import Foundation

// The JSON gateway's messages (etcd's `etcdserverpb` in the gateway's JSON mapping): int64 fields are strings,
// keys and values base64, and a field that is zero, false or empty is left out of an answer.

/// An int64 of the gateway: a JSON string (or, leniently, a number).
struct EtcdInt: Codable, Sendable, Equatable {
    var value: Int64

    init(_ value: Int64) {
        self.value = value
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Int64(text) ?? UInt64(text).map({ Int64(bitPattern: $0) }) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an int64: \(text)")
            }
            self.value = value
        } else {
            value = try container.decode(Int64.self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }
}

/// Bytes of the gateway: base64 in JSON.
struct EtcdBytes: Codable, Sendable, Equatable {
    var data: Data

    init(_ data: Data) {
        self.data = data
    }

    init(_ text: String) {
        data = Data(text.utf8)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let data = Data(base64Encoded: text) else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "not base64") }
        self.data = data
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(data.base64EncodedString())
    }
}

/// The header of every answer: which cluster and member answered, at which store revision.
struct EtcdHeader: Decodable, Sendable {
    var cluster_id: EtcdInt?
    var member_id: EtcdInt?
    var revision: EtcdInt?
    var raft_term: EtcdInt?
}

struct EtcdKV: Decodable, Sendable {
    var key: EtcdBytes?
    var create_revision: EtcdInt?
    var mod_revision: EtcdInt?
    var version: EtcdInt?
    var value: EtcdBytes?
    var lease: EtcdInt?

    var keyValue: EtcdKeyValue {
        EtcdKeyValue(
            key: key.map { String(decoding: $0.data, as: UTF8.self) } ?? "", value: value?.data ?? Data(),
            createRevision: create_revision?.value ?? 0, modRevision: mod_revision?.value ?? 0, version: version?.value ?? 0,
            lease: lease?.value ?? 0)
    }
}

struct RangeRequest: Encodable {
    var key: EtcdBytes
    var range_end: EtcdBytes?
    var limit: EtcdInt?
    var sort_order: String?
    var sort_target: String?
    var keys_only: Bool?
    var count_only: Bool?
    var max_create_revision: EtcdInt?
}

struct RangeResponse: Decodable {
    var header: EtcdHeader?
    var kvs: [EtcdKV]?
    var count: EtcdInt?
}

struct PutRequest: Encodable {
    var key: EtcdBytes
    var value: EtcdBytes
    var lease: EtcdInt?
    var prev_kv: Bool?
}

struct PutResponse: Decodable {
    var header: EtcdHeader?
    var prev_kv: EtcdKV?
}

struct DeleteRangeRequest: Encodable {
    var key: EtcdBytes
    var range_end: EtcdBytes?
    var prev_kv: Bool?
}

struct DeleteRangeResponse: Decodable {
    var header: EtcdHeader?
    var deleted: EtcdInt?
    var prev_kvs: [EtcdKV]?
}

struct CompareMessage: Encodable {
    var key: EtcdBytes
    var range_end: EtcdBytes?
    var target: String
    var result: String
    var version: EtcdInt?
    var create_revision: EtcdInt?
    var mod_revision: EtcdInt?
    var value: EtcdBytes?
    var lease: EtcdInt?
}

struct RequestOp: Encodable {
    var request_range: RangeRequest?
    var request_put: PutRequest?
    var request_delete_range: DeleteRangeRequest?
}

struct ResponseOp: Decodable {
    var response_range: RangeResponse?
    var response_put: PutResponse?
    var response_delete_range: DeleteRangeResponse?
}

struct TxnRequest: Encodable {
    var compare: [CompareMessage]
    var success: [RequestOp]
    var failure: [RequestOp]
}

struct TxnResponse: Decodable {
    var header: EtcdHeader?
    var succeeded: Bool?
    var responses: [ResponseOp]?
}

struct LeaseGrantRequest: Encodable {
    var TTL: EtcdInt
}

struct LeaseGrantResponse: Decodable {
    var header: EtcdHeader?
    var ID: EtcdInt?
    var TTL: EtcdInt?
    var error: String?
}

struct LeaseIDRequest: Encodable {
    var ID: EtcdInt
}

/// `/v3/lease/keepalive` is a stream in gRPC: the gateway wraps its one answer in `result`.
struct LeaseKeepAliveAnswer: Decodable {
    struct Result: Decodable {
        var header: EtcdHeader?
        var ID: EtcdInt?
        var TTL: EtcdInt?
    }
    var result: Result?
}

struct LeaseTimeToLiveResponse: Decodable {
    var header: EtcdHeader?
    var ID: EtcdInt?
    var TTL: EtcdInt?
    var grantedTTL: EtcdInt?
}

struct EmptyResponse: Decodable {
    var header: EtcdHeader?
}

struct AuthenticateRequest: Encodable {
    var name: String
    var password: String
}

struct AuthenticateResponse: Decodable {
    var header: EtcdHeader?
    var token: String?
}

struct WatchRequest: Encodable {
    struct Create: Encodable {
        var key: EtcdBytes
        var range_end: EtcdBytes?
        var start_revision: EtcdInt?
    }
    var create_request: Create
}

/// One line of a watch's stream.
struct WatchLine: Decodable {
    struct Result: Decodable {
        var header: EtcdHeader?
        var created: Bool?
        var canceled: Bool?
        var compact_revision: EtcdInt?
        var cancel_reason: String?
        var events: [EventMessage]?
    }
    struct EventMessage: Decodable {
        /// `PUT` is the enum's zero value: the gateway leaves it out.
        var type: String?
        var kv: EtcdKV?
    }
    var result: Result?
    var error: GatewayError?
}

/// The gateway's error body: `{"error", "message", "code"}` with a gRPC status code.
struct GatewayError: Decodable {
    var error: String?
    var message: String?
    var code: Int?
}
