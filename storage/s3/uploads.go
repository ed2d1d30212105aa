package s3

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"archtics/storage"
)

var _ storage.UploadLister = (*Store)(nil)

// ListUploads lists the multipart uploads under the store's prefix that
// were started and never completed or aborted: a writer killed in the
// middle of a large upload leaves one, and S3 bills its parts until it is
// aborted (or a lifecycle rule's AbortIncompleteMultipartUpload does it).
func (s *Store) ListUploads(ctx context.Context, fn func(storage.Upload) error) error {
	in := &awss3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: aws.String(s.prefix)}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return fmt.Errorf("s3 list multipart uploads in %s: %w", s.URL(), err)
		}
		for _, u := range out.Uploads {
			up := storage.Upload{
				Key:       strings.TrimPrefix(aws.ToString(u.Key), s.prefix),
				ID:        aws.ToString(u.UploadId),
				Initiated: aws.ToTime(u.Initiated),
			}
			if err := fn(up); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// AbortUpload aborts one multipart upload; an upload already gone is not
// an error.
func (s *Store) AbortUpload(ctx context.Context, u storage.Upload) error {
	full, err := s.full(u.Key)
	if err != nil {
		return fmt.Errorf("s3 abort upload: %w", err)
	}
	_, err = s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &full, UploadId: &u.ID})
	if err != nil && !isNotFound(err) && errorCode(err) != "NoSuchUpload" {
		return fmt.Errorf("s3 abort upload %s (%s): %w", u.Key, u.ID, err)
	}
	return nil
}
