import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang
import RCTestSupport
import Testing

/// TLS, mutual TLS and etcd users against a real etcd, with certificates made by `openssl` for the test.
@Suite(.serialized) struct EtcdSecurityTests {
    struct PKI {
        let dir: String
        var ca: String { dir + "/ca.crt" }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-pki-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=rc-test-ca")
            // etcd's JSON gateway dials its own gRPC port with the server certificate: it needs clientAuth too.
            try issue("server", subject: "/CN=127.0.0.1", ext: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth")
            try issue("client", subject: "/CN=rcuser", ext: "extendedKeyUsage=clientAuth")
        }

        func issue(_ name: String, subject: String, ext: String) throws {
            try ext.write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
            try sh("openssl req -newkey rsa:2048 -nodes -keyout \(name).key -out \(name).csr -subj \(subject)")
            try sh("openssl x509 -req -in \(name).csr -CA ca.crt -CAkey ca.key -CAcreateserial -out \(name).crt -days 2 -extfile \(name).ext")
        }

        func sh(_ command: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw EtcdHarness.HarnessError(description: "failed: \(command)") }
        }
    }

    func spec(_ endpoint: String, tls: String = "", auth: String = "") throws -> EtcdLockSpec {
        let text = "policy \"s\" {}\ndetector \"apt\" debian\nlock etcd {\n  endpoints [\"\(endpoint)\"]\n  key \"/rc-test\"\n\(tls)\n\(auth)\n}\n"
        let result = Checker.check(SourceFile(path: "s.rcl", text: text))
        guard case .etcd(let spec)? = result.policy?.lock else {
            throw EtcdHarness.HarnessError(description: "\(result.diagnostics.map(\.message))")
        }
        return spec
    }

    @Test func mutualTLSAndAClearErrorWithoutAClientCertificate() async throws {
        let pki = try PKI()
        defer { try? FileManager.default.removeItem(atPath: pki.dir) }
        let etcd = try EtcdHarness(
            extraArguments: [
                "--cert-file", pki.dir + "/server.crt", "--key-file", pki.dir + "/server.key", "--client-cert-auth",
                "--trusted-ca-file", pki.ca,
            ], scheme: "https")
        let good = try EtcdClient(spec(etcd.endpoint, tls: "tls { ca \"\(pki.ca)\"  cert \"\(pki.dir)/client.crt\"  key \"\(pki.dir)/client.key\" }"))
        var ok = false
        for _ in 0..<50 where !ok {
            ok = (try? await good.put("/rc-test/k", Data("v".utf8))) != nil
            if !ok { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ok, "a client with a certificate signed by the CA is served")
        #expect(try await good.range("/rc-test/k").kvs.count == 1)
        await good.shutdown()

        let noCert = try EtcdClient(spec(etcd.endpoint, tls: "tls { ca \"\(pki.ca)\" }"))
        do {
            _ = try await noCert.range("/rc-test/k")
            Issue.record("a client without a certificate must be refused")
        } catch {
            #expect(error.description.contains("does it require a client certificate"), "\(error.description)")
        }
        await noCert.shutdown()

        // Verification is on by default: a server certificate from an unknown CA is refused.
        let otherPKI = try PKI()
        defer { try? FileManager.default.removeItem(atPath: otherPKI.dir) }
        let wrongCA = try EtcdClient(spec(etcd.endpoint, tls: "tls { ca \"\(otherPKI.ca)\"  cert \"\(pki.dir)/client.crt\"  key \"\(pki.dir)/client.key\" }"))
        do {
            _ = try await wrongCA.range("/rc-test/k")
            Issue.record("a server certificate from another CA must be refused")
        } catch {
            #expect(error.description.contains("etcd is unreachable"), "\(error.description)")
        }
        await wrongCA.shutdown()

        // Every TLS file that cannot be used is named.
        func tlsError(_ block: String) -> String {
            do {
                _ = try EtcdClient(spec(etcd.endpoint, tls: block))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(tlsError("tls { ca \"\(pki.dir)/missing.crt\" }") == "etcd TLS settings: cannot read the CA file \(pki.dir)/missing.crt: no such file")
        try "not a certificate".write(toFile: pki.dir + "/garbage.crt", atomically: true, encoding: .utf8)
        #expect(tlsError("tls { ca \"\(pki.dir)/garbage.crt\" }").hasPrefix("etcd TLS settings: cannot load the CA file \(pki.dir)/garbage.crt (PEM expected)"))
        #expect(tlsError("tls { cert \"\(pki.dir)/nope.crt\"  key \"\(pki.dir)/nope.key\" }") == "etcd TLS settings: cannot read the certificate file \(pki.dir)/nope.crt: no such file")
    }

    @Test func aUserWhoseRoleGrantsOnlyTheRcPrefixWorks() async throws {
        let etcd = try EtcdHarness()
        let dir = etcd.directory
        let setup = [
            "user add root:rootpw", "role add rc", "role grant-permission rc readwrite /rc-test/ --prefix=true",
            "user add rcuser:userpw", "user grant-role rcuser rc", "auth enable",
        ]
        for command in setup {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
            p.arguments = ["--endpoints", etcd.endpoint] + command.split(separator: " ").map(String.init)
            p.environment = ["ETCDCTL_API": "3"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "etcdctl \(command)")
        }
        try "userpw\n".write(toFile: dir + "/password", atomically: true, encoding: .utf8)
        let lockSpec = try spec(etcd.endpoint, auth: "user \"rcuser\"\npassword_file \"\(dir)/password\"\nslots 1")
        let client = try EtcdClient(lockSpec)
        defer { Task { await client.shutdown() } }
        let lock = EtcdLock(client: client, spec: lockSpec, logger: Logger(label: "test"))
        #expect(try await lock.acquire(HolderInfo(node: "n", pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")))
        #expect(try await lock.status(node: "n").held == true)
        try await lock.release(node: "n")
        do {
            try await client.put("/elsewhere", Data("x".utf8))
            Issue.record("the role grants only the rc prefix")
        } catch {
            #expect(error.description.contains("permission denied"), "\(error.description)")
        }
        let anonymous = try EtcdClient(spec(etcd.endpoint))
        defer { Task { await anonymous.shutdown() } }
        await #expect(throws: EtcdError.self) { _ = try await anonymous.range("/rc-test/", prefix: true) }
    }
}
