# Builds and runs bucketd. docker compose up gives a server on port 6379
# with its data in a named volume.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /bucketd .

FROM debian:bookworm-slim
COPY --from=build /bucketd /usr/local/bin/bucketd
VOLUME /data
EXPOSE 6379
ENTRYPOINT ["bucketd", "--bind", "0.0.0.0", "--port", "6379", "--dir", "/data"]
